package io.graft.selfsup;

import io.graft.config.ConfigException;
import java.io.Serializable;
import java.util.Random;

/**
 * What a denoising / masked autoencoder sees instead of its input: image patches (or, for flat
 * features, single features) dropped to 0 with probability {@code mask}, then Gaussian noise of
 * standard deviation {@code noise}. The network is trained to reconstruct the clean input.
 *
 * @param mask probability that a patch (feature) is zeroed, in [0, 1)
 * @param patch side of the square patches masked together on images (1: single pixels)
 * @param noise standard deviation of the added Gaussian noise
 */
public record Corruption(double mask, int patch, double noise) implements Serializable {
  public Corruption {
    ConfigException.require(mask >= 0 && mask < 1, "objective.mask must be in [0, 1), cannot be: %s", mask);
    ConfigException.require(patch >= 1, "objective.patch must be at least 1, cannot be: %s", patch);
    ConfigException.require(noise >= 0, "objective.noise must be non-negative, cannot be: %s", noise);
    ConfigException.require(mask > 0 || noise > 0,
        "A reconstruction objective needs objective.mask or objective.noise above 0 (otherwise it learns the identity)");
  }

  /**
   * The corrupted copy of one example; {@code x} is left as it is.
   *
   * @param shape the feature shape: [channels, height, width] or [height, width] masks square
   *     patches per position across channels; any other shape masks single features
   */
  public float[] apply(float[] x, int[] shape, Random rng) {
    float[] out = x.clone();
    if (mask > 0) {
      if (shape.length >= 2) {
        int c = shape.length == 3 ? shape[0] : 1;
        int h = shape[shape.length - 2];
        int w = shape[shape.length - 1];
        for (int py = 0; py < h; py += patch) {
          for (int px = 0; px < w; px += patch) {
            if (rng.nextDouble() < mask) {
              for (int ch = 0; ch < c; ch++) {
                for (int y = py; y < Math.min(h, py + patch); y++) {
                  for (int xx = px; xx < Math.min(w, px + patch); xx++) {
                    out[ch * h * w + y * w + xx] = 0f;
                  }
                }
              }
            }
          }
        }
      } else {
        for (int i = 0; i < out.length; i++) {
          if (rng.nextDouble() < mask) {
            out[i] = 0f;
          }
        }
      }
    }
    if (noise > 0) {
      for (int i = 0; i < out.length; i++) {
        out[i] += (float) (rng.nextGaussian() * noise);
      }
    }
    return out;
  }
}

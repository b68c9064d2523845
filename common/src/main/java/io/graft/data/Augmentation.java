package io.graft.data;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.graft.config.ConfigException;
import java.io.Serializable;
import java.util.Random;

/**
 * Image augmentation applied to each training example on the executors, as one bilinear
 * resampling: a random crop covering {@code crop} to 100 % of the image's area (aspect ratio
 * 3/4 to 4/3) resized back to the full frame, a rotation of up to {@code rotation} degrees about
 * the centre and a shift of up to {@code shift} pixels in each direction; then a random contrast
 * factor in [1 - contrast, 1 + contrast] about the image's mean and Gaussian noise of standard
 * deviation {@code noise}. Values are clamped to [0, 1], the range Graft's image imports use.
 *
 * @param crop smallest share of the area a random crop keeps, in (0, 1]; 0 disables cropping
 * @param contrast maximum relative change of contrast, in [0, 1)
 */
public record Augmentation(int shift, double rotation, double noise, double crop, double contrast) implements Serializable {
  @JsonCreator
  public Augmentation(@JsonProperty("shift") Integer shift, @JsonProperty("rotation") Double rotation,
      @JsonProperty("noise") Double noise, @JsonProperty("crop") Double crop, @JsonProperty("contrast") Double contrast) {
    this(shift == null ? 0 : shift, rotation == null ? 0.0 : rotation, noise == null ? 0.0 : noise, crop == null ? 0.0 : crop,
        contrast == null ? 0.0 : contrast);
  }

  /** Shifts, rotations and noise only. */
  public Augmentation(int shift, double rotation, double noise) {
    this(shift, rotation, noise, 0.0, 0.0);
  }

  public Augmentation {
    ConfigException.require(shift >= 0, "augmentation.shift must be non-negative, cannot be: %s", shift);
    ConfigException.require(rotation >= 0 && rotation <= 180, "augmentation.rotation must be in [0, 180] degrees, cannot be: %s", rotation);
    ConfigException.require(noise >= 0, "augmentation.noise must be non-negative, cannot be: %s", noise);
    ConfigException.require(crop >= 0 && crop <= 1, "augmentation.crop must be in [0, 1] (the smallest share of the area kept), cannot be: %s",
        crop);
    ConfigException.require(contrast >= 0 && contrast < 1, "augmentation.contrast must be in [0, 1), cannot be: %s", contrast);
  }

  public static Augmentation none() {
    return new Augmentation(0, 0.0, 0.0);
  }

  public boolean enabled() {
    return shift > 0 || rotation > 0 || noise > 0 || (crop > 0 && crop < 1) || contrast > 0;
  }

  /** Augments one image of shape [channels, height, width] stored row-major in {@code x}. */
  public float[] apply(float[] x, int channels, int height, int width, Random rng) {
    double dx = shift > 0 ? rng.nextInt(2 * shift + 1) - shift : 0;
    double dy = shift > 0 ? rng.nextInt(2 * shift + 1) - shift : 0;
    double angle = rotation > 0 ? Math.toRadians((rng.nextDouble() * 2 - 1) * rotation) : 0;
    float[] out = new float[x.length];
    double cos = Math.cos(angle);
    double sin = Math.sin(angle);
    double cx = (width - 1) / 2.0;
    double cy = (height - 1) / 2.0;
    // the crop: the output frame shows a (scaleX * width) x (scaleY * height) window centred at (ccx, ccy)
    double scaleX = 1;
    double scaleY = 1;
    double ccx = cx;
    double ccy = cy;
    if (crop > 0 && crop < 1) {
      double area = crop + rng.nextDouble() * (1 - crop);
      double logRatio = Math.log(3.0 / 4) + rng.nextDouble() * (Math.log(4.0 / 3) - Math.log(3.0 / 4));
      double ratio = Math.exp(logRatio);
      scaleX = Math.min(1, Math.sqrt(area * ratio));
      scaleY = Math.min(1, Math.sqrt(area / ratio));
      ccx = cx + (rng.nextDouble() * 2 - 1) * (1 - scaleX) * width / 2;
      ccy = cy + (rng.nextDouble() * 2 - 1) * (1 - scaleY) * height / 2;
    }
    for (int c = 0; c < channels; c++) {
      int base = c * height * width;
      for (int y = 0; y < height; y++) {
        for (int xx = 0; xx < width; xx++) {
          // inverse map: where in the source does this output pixel come from
          double ox = xx - cx - dx;
          double oy = y - cy - dy;
          double sx = (cos * ox + sin * oy) * scaleX + ccx;
          double sy = (-sin * ox + cos * oy) * scaleY + ccy;
          out[base + y * width + xx] = bilinear(x, base, height, width, sx, sy);
        }
      }
    }
    if (contrast > 0) {
      double factor = 1 + (rng.nextDouble() * 2 - 1) * contrast;
      double mean = 0;
      for (float v : out) {
        mean += v;
      }
      mean /= out.length;
      for (int i = 0; i < out.length; i++) {
        out[i] = (float) (mean + (out[i] - mean) * factor);
      }
    }
    if (noise > 0) {
      for (int i = 0; i < out.length; i++) {
        out[i] += (float) (rng.nextGaussian() * noise);
      }
    }
    for (int i = 0; i < out.length; i++) {
      out[i] = Math.min(1f, Math.max(0f, out[i]));
    }
    return out;
  }

  private static float bilinear(float[] x, int base, int h, int w, double sx, double sy) {
    int x0 = (int) Math.floor(sx);
    int y0 = (int) Math.floor(sy);
    double fx = sx - x0;
    double fy = sy - y0;
    return (float) ((1 - fx) * (1 - fy) * at(x, base, h, w, x0, y0) + fx * (1 - fy) * at(x, base, h, w, x0 + 1, y0)
        + (1 - fx) * fy * at(x, base, h, w, x0, y0 + 1) + fx * fy * at(x, base, h, w, x0 + 1, y0 + 1));
  }

  private static float at(float[] x, int base, int h, int w, int px, int py) {
    return px < 0 || py < 0 || px >= w || py >= h ? 0f : x[base + py * w + px];
  }
}

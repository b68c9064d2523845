package io.graft.data;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.graft.config.ConfigException;
import java.io.Serializable;
import java.util.Random;

/**
 * Image augmentation applied to each training example on the executors, seeded by the round: one
 * bilinear resampling covering a random resized crop ({@code crop} to 100 % of the area, aspect
 * ratio 3/4 to 4/3, resized back to the full frame), a horizontal flip with probability
 * {@code flip}, a rotation of up to {@code rotation} degrees about the centre and a shift of up to
 * {@code shift} pixels; then colour jitter in this order: brightness (a factor in
 * [1 - brightness, 1 + brightness]), contrast (a factor in [1 - contrast, 1 + contrast] about the
 * image's mean), saturation (a blend with the image's BT.601 grey by a factor in
 * [1 - saturation, 1 + saturation]) and hue (a rotation of the chroma plane of YIQ by up to
 * {@code hue} of a full turn), the last two on 3-channel images only; finally Gaussian noise of
 * standard deviation {@code noise}. Values are clamped to [0, 1], the range Graft's image imports use.
 *
 * @param crop smallest share of the area a random crop keeps, in (0, 1]; 0 disables cropping
 * @param contrast maximum relative change of contrast, in [0, 1)
 * @param flip probability of a horizontal (left-right) flip, in [0, 1]
 * @param brightness maximum relative change of brightness, in [0, 1)
 * @param saturation maximum relative change of saturation, in [0, 1]
 * @param hue maximum hue rotation as a share of a full turn, in [0, 0.5]
 */
public record Augmentation(int shift, double rotation, double noise, double crop, double contrast, double flip, double brightness,
    double saturation, double hue) implements Serializable {
  @JsonCreator
  public Augmentation(@JsonProperty("shift") Integer shift, @JsonProperty("rotation") Double rotation,
      @JsonProperty("noise") Double noise, @JsonProperty("crop") Double crop, @JsonProperty("contrast") Double contrast,
      @JsonProperty("flip") Double flip, @JsonProperty("brightness") Double brightness, @JsonProperty("saturation") Double saturation,
      @JsonProperty("hue") Double hue) {
    this(shift == null ? 0 : shift, orZero(rotation), orZero(noise), orZero(crop), orZero(contrast), orZero(flip), orZero(brightness),
        orZero(saturation), orZero(hue));
  }

  /** Geometry, contrast and noise only. */
  public Augmentation(int shift, double rotation, double noise, double crop, double contrast) {
    this(shift, rotation, noise, crop, contrast, 0.0, 0.0, 0.0, 0.0);
  }

  private static double orZero(Double v) {
    return v == null ? 0.0 : v;
  }

  /** Shifts, rotations and noise only. */
  public Augmentation(int shift, double rotation, double noise) {
    this(shift, rotation, noise, 0.0, 0.0);
  }

  /** Random resized crop, horizontal flip and colour jitter: the usual recipe for photographs. */
  public static Augmentation photo(double crop, double flip, double brightness, double contrast, double saturation, double hue) {
    return new Augmentation(0, 0.0, 0.0, crop, contrast, flip, brightness, saturation, hue);
  }

  public Augmentation {
    ConfigException.require(shift >= 0, "augmentation.shift must be non-negative, cannot be: %s", shift);
    ConfigException.require(rotation >= 0 && rotation <= 180, "augmentation.rotation must be in [0, 180] degrees, cannot be: %s", rotation);
    ConfigException.require(noise >= 0, "augmentation.noise must be non-negative, cannot be: %s", noise);
    ConfigException.require(crop >= 0 && crop <= 1, "augmentation.crop must be in [0, 1] (the smallest share of the area kept), cannot be: %s",
        crop);
    ConfigException.require(contrast >= 0 && contrast < 1, "augmentation.contrast must be in [0, 1), cannot be: %s", contrast);
    ConfigException.require(flip >= 0 && flip <= 1, "augmentation.flip must be a probability in [0, 1], cannot be: %s", flip);
    ConfigException.require(brightness >= 0 && brightness < 1, "augmentation.brightness must be in [0, 1), cannot be: %s", brightness);
    ConfigException.require(saturation >= 0 && saturation <= 1, "augmentation.saturation must be in [0, 1], cannot be: %s", saturation);
    ConfigException.require(hue >= 0 && hue <= 0.5, "augmentation.hue must be in [0, 0.5] (a share of a full turn), cannot be: %s", hue);
  }

  public static Augmentation none() {
    return new Augmentation(0, 0.0, 0.0);
  }

  public boolean enabled() {
    return shift > 0 || rotation > 0 || noise > 0 || (crop > 0 && crop < 1) || contrast > 0 || flip > 0 || brightness > 0
        || saturation > 0 || hue > 0;
  }

  /** Augments one image of shape [channels, height, width] stored row-major in {@code x}. */
  public float[] apply(float[] x, int channels, int height, int width, Random rng) {
    double dx = shift > 0 ? rng.nextInt(2 * shift + 1) - shift : 0;
    double dy = shift > 0 ? rng.nextInt(2 * shift + 1) - shift : 0;
    double angle = rotation > 0 ? Math.toRadians((rng.nextDouble() * 2 - 1) * rotation) : 0;
    boolean mirror = flip > 0 && rng.nextDouble() < flip;
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
          double ox = (mirror ? width - 1 - xx : xx) - cx - dx;
          double oy = y - cy - dy;
          double sx = (cos * ox + sin * oy) * scaleX + ccx;
          double sy = (-sin * ox + cos * oy) * scaleY + ccy;
          out[base + y * width + xx] = bilinear(x, base, height, width, sx, sy);
        }
      }
    }
    if (brightness > 0) {
      float factor = (float) (1 + (rng.nextDouble() * 2 - 1) * brightness);
      for (int i = 0; i < out.length; i++) {
        out[i] *= factor;
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
    if (channels == 3 && saturation > 0) {
      saturate(out, height * width, 1 + (rng.nextDouble() * 2 - 1) * saturation);
    }
    if (channels == 3 && hue > 0) {
      rotateHue(out, height * width, (rng.nextDouble() * 2 - 1) * hue * 2 * Math.PI);
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

  /** Blends each RGB pixel with its BT.601 grey: factor 0 is grey, 1 unchanged, above 1 more saturated. */
  static void saturate(float[] rgb, int plane, double factor) {
    for (int i = 0; i < plane; i++) {
      double grey = 0.299 * rgb[i] + 0.587 * rgb[plane + i] + 0.114 * rgb[2 * plane + i];
      for (int c = 0; c < 3; c++) {
        rgb[c * plane + i] = (float) (grey + (rgb[c * plane + i] - grey) * factor);
      }
    }
  }

  /** Rotates each RGB pixel's chroma (the I and Q of YIQ) by {@code angle} radians, keeping its luma. */
  static void rotateHue(float[] rgb, int plane, double angle) {
    double cos = Math.cos(angle);
    double sin = Math.sin(angle);
    for (int i = 0; i < plane; i++) {
      double r = rgb[i];
      double g = rgb[plane + i];
      double b = rgb[2 * plane + i];
      double y = 0.299 * r + 0.587 * g + 0.114 * b;
      double ci = 0.596 * r - 0.274 * g - 0.322 * b;
      double cq = 0.211 * r - 0.523 * g + 0.312 * b;
      double i2 = ci * cos - cq * sin;
      double q2 = ci * sin + cq * cos;
      rgb[i] = (float) (y + 0.956 * i2 + 0.621 * q2);
      rgb[plane + i] = (float) (y - 0.272 * i2 - 0.647 * q2);
      rgb[2 * plane + i] = (float) (y - 1.106 * i2 + 1.703 * q2);
    }
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

package io.graft.data;

/**
 * Bilinear resampling of flat channel-first images ({@code [C, H, W]} row-major), pixel centres
 * aligned (the convention of OpenCV's and PIL's bilinear resize): used by {@code graft import
 * --resize} to bring two image domains to one input space, e.g. 8x8 UCI digits to MNIST's 28x28.
 */
public final class ImageResize {
  private ImageResize() {}

  public static float[] bilinear(float[] image, int channels, int height, int width, int newHeight, int newWidth) {
    if (image.length != channels * height * width) {
      throw new IllegalArgumentException("Image has " + image.length + " values, expected " + channels + "x" + height + "x" + width);
    }
    float[] out = new float[channels * newHeight * newWidth];
    double sy = (double) height / newHeight;
    double sx = (double) width / newWidth;
    for (int c = 0; c < channels; c++) {
      int in = c * height * width;
      int o = c * newHeight * newWidth;
      for (int y = 0; y < newHeight; y++) {
        double fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), height - 1);
        int y0 = (int) Math.floor(fy);
        int y1 = Math.min(y0 + 1, height - 1);
        double wy = fy - y0;
        for (int x = 0; x < newWidth; x++) {
          double fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), width - 1);
          int x0 = (int) Math.floor(fx);
          int x1 = Math.min(x0 + 1, width - 1);
          double wx = fx - x0;
          double top = image[in + y0 * width + x0] * (1 - wx) + image[in + y0 * width + x1] * wx;
          double bottom = image[in + y1 * width + x0] * (1 - wx) + image[in + y1 * width + x1] * wx;
          out[o + y * newWidth + x] = (float) (top * (1 - wy) + bottom * wy);
        }
      }
    }
    return out;
  }

  /** {@code image} with {@code pad} zero pixels added on every side of every channel. */
  public static float[] pad(float[] image, int channels, int height, int width, int pad) {
    if (pad == 0) {
      return image;
    }
    int h = height + 2 * pad;
    int w = width + 2 * pad;
    float[] out = new float[channels * h * w];
    for (int c = 0; c < channels; c++) {
      for (int y = 0; y < height; y++) {
        System.arraycopy(image, c * height * width + y * width, out, c * h * w + (y + pad) * w + pad, width);
      }
    }
    return out;
  }
}

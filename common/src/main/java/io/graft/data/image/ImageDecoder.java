package io.graft.data.image;

import com.twelvemonkeys.imageio.metadata.Directory;
import com.twelvemonkeys.imageio.metadata.Entry;
import com.twelvemonkeys.imageio.metadata.jpeg.JPEG;
import com.twelvemonkeys.imageio.metadata.jpeg.JPEGSegment;
import com.twelvemonkeys.imageio.metadata.jpeg.JPEGSegmentUtil;
import com.twelvemonkeys.imageio.metadata.tiff.TIFF;
import com.twelvemonkeys.imageio.metadata.tiff.TIFFReader;
import io.graft.data.BadRecordException;
import io.graft.data.ImageResize;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Iterator;
import java.util.List;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * Decodes one encoded image (PNG, JPEG, GIF, BMP) to a flat channel-first float array in [0, 1].
 *
 * <p>ImageIO does the decoding with TwelveMonkeys' plug-ins registered, which read the JPEGs the
 * JDK refuses (CMYK and YCCK from print workflows, broken ICC profiles). Grey images keep their
 * exact sample values (16-bit PNGs their 16 bits); colour is read as sRGB, alpha dropped. A JPEG's
 * EXIF orientation is applied, as cameras and browsers show the picture. RGB becomes grey by the
 * luminance weights of ITU-R BT.601 (0.299 R + 0.587 G + 0.114 B, PIL's "L" conversion); grey
 * becomes RGB by repeating the channel.
 */
public final class ImageDecoder {
  static {
    // ImageIO's registry finds plug-ins through the context class loader of the thread that first
    // touches it; on a Spark executor Graft's jars live in a child loader, so scan with ours.
    Thread t = Thread.currentThread();
    ClassLoader previous = t.getContextClassLoader();
    try {
      t.setContextClassLoader(ImageDecoder.class.getClassLoader());
      ImageIO.scanForPlugins();
    } finally {
      t.setContextClassLoader(previous);
    }
  }

  private ImageDecoder() {}

  /** A decoded image at its own size: {@code channels} is 1 (grey) or 3 (RGB), values in [0, 1]. */
  public record Pixels(float[] values, int channels, int height, int width) {}

  /** Decodes {@code bytes} and brings them to {@code spec}; {@code location} names the file in errors. */
  public static float[] decode(byte[] bytes, ImageSpec spec, String location) throws BadRecordException {
    return fit(read(bytes, location), spec, location);
  }

  /** Decodes {@code bytes} at their own size and channel count. */
  public static Pixels read(byte[] bytes, String location) throws BadRecordException {
    if (bytes.length == 0) {
      throw new BadRecordException(location, "empty file");
    }
    BufferedImage image;
    try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
      Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
      if (!readers.hasNext()) {
        throw new BadRecordException(location, "not a recognised image (PNG, JPEG, GIF or BMP)");
      }
      ImageReader reader = readers.next();
      try {
        reader.setInput(in, true, true);
        image = reader.read(0);
      } finally {
        reader.dispose();
      }
    } catch (IOException | RuntimeException e) {
      throw new BadRecordException(location, "cannot decode image: " + e.getMessage());
    }
    if (image == null || image.getWidth() == 0 || image.getHeight() == 0) {
      throw new BadRecordException(location, "image has no pixels");
    }
    Pixels pixels = toPixels(image);
    int orientation = isJpeg(bytes) ? exifOrientation(bytes) : 1;
    return orientation == 1 ? pixels : orient(pixels, orientation);
  }

  /** Brings decoded pixels to {@code spec}'s channels and size. */
  public static float[] fit(Pixels p, ImageSpec spec, String location) throws BadRecordException {
    Pixels c = toChannels(p, spec.channels());
    if (c.height() == spec.height() && c.width() == spec.width()) {
      return c.values();
    }
    if (!spec.resize()) {
      throw new BadRecordException(location, "image is " + c.height() + "x" + c.width() + ", the dataset's images are " + spec.height() + "x"
          + spec.width() + " (pass --resize HxW to bring every image to one size)");
    }
    return switch (spec.fit()) {
      case STRETCH -> ImageResize.bilinear(c.values(), c.channels(), c.height(), c.width(), spec.height(), spec.width());
      case CROP -> centreCrop(c, spec.height(), spec.width());
      case PAD -> letterbox(c, spec.height(), spec.width());
    };
  }

  private static Pixels toPixels(BufferedImage image) {
    int h = image.getHeight();
    int w = image.getWidth();
    ColorModel cm = image.getColorModel();
    Raster raster = image.getRaster();
    int type = cm.getColorSpace().getType();
    if (cm instanceof ComponentColorModel && (type == ColorSpace.TYPE_GRAY || (type == ColorSpace.TYPE_RGB && cm.getComponentSize(0) > 8))) {
      // exact samples: grey at any bit depth, and RGB deeper than 8 bits (which getRGB would truncate)
      int channels = type == ColorSpace.TYPE_GRAY ? 1 : 3;
      float max = (float) ((1L << cm.getComponentSize(0)) - 1);
      float[] out = new float[channels * h * w];
      int[] row = new int[w];
      for (int c = 0; c < channels; c++) {
        for (int y = 0; y < h; y++) {
          raster.getSamples(0, y, w, 1, c, row);
          for (int x = 0; x < w; x++) {
            out[(c * h + y) * w + x] = row[x] / max;
          }
        }
      }
      return new Pixels(out, channels, h, w);
    }
    float[] out = new float[3 * h * w];
    int[] argb = new int[w];
    int plane = h * w;
    for (int y = 0; y < h; y++) {
      image.getRGB(0, y, w, 1, argb, 0, w);
      for (int x = 0; x < w; x++) {
        int v = argb[x];
        out[y * w + x] = ((v >> 16) & 0xff) / 255f;
        out[plane + y * w + x] = ((v >> 8) & 0xff) / 255f;
        out[2 * plane + y * w + x] = (v & 0xff) / 255f;
      }
    }
    return new Pixels(out, 3, h, w);
  }

  static Pixels toChannels(Pixels p, int channels) {
    if (p.channels() == channels) {
      return p;
    }
    int plane = p.height() * p.width();
    float[] v = p.values();
    float[] out = new float[channels * plane];
    if (channels == 3) {
      for (int c = 0; c < 3; c++) {
        System.arraycopy(v, 0, out, c * plane, plane);
      }
    } else {
      for (int i = 0; i < plane; i++) {
        out[i] = (float) (0.299 * v[i] + 0.587 * v[plane + i] + 0.114 * v[2 * plane + i]);
      }
    }
    return new Pixels(out, channels, p.height(), p.width());
  }

  private static float[] centreCrop(Pixels p, int height, int width) {
    // the largest window of the target's aspect ratio, centred
    double target = (double) width / height;
    int cropW = p.width();
    int cropH = p.height();
    if ((double) p.width() / p.height() > target) {
      cropW = Math.max(1, (int) Math.round(p.height() * target));
    } else {
      cropH = Math.max(1, (int) Math.round(p.width() / target));
    }
    int top = (p.height() - cropH) / 2;
    int left = (p.width() - cropW) / 2;
    float[] window = new float[p.channels() * cropH * cropW];
    for (int c = 0; c < p.channels(); c++) {
      for (int y = 0; y < cropH; y++) {
        System.arraycopy(p.values(), (c * p.height() + top + y) * p.width() + left, window, (c * cropH + y) * cropW, cropW);
      }
    }
    return ImageResize.bilinear(window, p.channels(), cropH, cropW, height, width);
  }

  private static float[] letterbox(Pixels p, int height, int width) {
    double scale = Math.min((double) height / p.height(), (double) width / p.width());
    int h = Math.max(1, Math.min(height, (int) Math.round(p.height() * scale)));
    int w = Math.max(1, Math.min(width, (int) Math.round(p.width() * scale)));
    float[] scaled = ImageResize.bilinear(p.values(), p.channels(), p.height(), p.width(), h, w);
    int top = (height - h) / 2;
    int left = (width - w) / 2;
    float[] out = new float[p.channels() * height * width];
    for (int c = 0; c < p.channels(); c++) {
      for (int y = 0; y < h; y++) {
        System.arraycopy(scaled, (c * h + y) * w, out, (c * height + top + y) * width + left, w);
      }
    }
    return out;
  }

  private static boolean isJpeg(byte[] b) {
    return b.length > 3 && (b[0] & 0xff) == 0xFF && (b[1] & 0xff) == 0xD8;
  }

  /** The EXIF orientation tag (1-8) of a JPEG, 1 when it has none or it cannot be read. */
  static int exifOrientation(byte[] jpeg) {
    try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(jpeg))) {
      List<JPEGSegment> exif = JPEGSegmentUtil.readSegments(in, JPEG.APP1, "Exif");
      if (exif.isEmpty()) {
        return 1;
      }
      InputStream data = exif.get(0).data();
      // after the "Exif\0" identifier comes one pad byte, then the TIFF structure
      data.skipNBytes(1);
      Directory dir;
      try (ImageInputStream tiff = new MemoryCacheImageInputStream(data)) {
        dir = new TIFFReader().read(tiff);
      }
      Entry e = dir.getEntryById(TIFF.TAG_ORIENTATION);
      if (e == null || !(e.getValue() instanceof Number n)) {
        return 1;
      }
      int o = n.intValue();
      return o >= 1 && o <= 8 ? o : 1;
    } catch (IOException | RuntimeException e) {
      return 1; // unreadable metadata: show the pixels as stored, as browsers do
    }
  }

  /**
   * The pixels as they should be shown for EXIF orientation {@code o}: 2 mirror, 3 rotate 180,
   * 4 flip vertically, 5 transpose, 6 rotate 90 clockwise, 7 transverse, 8 rotate 90 anticlockwise.
   */
  static Pixels orient(Pixels p, int o) {
    int h = p.height();
    int w = p.width();
    boolean swap = o >= 5;
    int oh = swap ? w : h;
    int ow = swap ? h : w;
    float[] in = p.values();
    float[] out = new float[in.length];
    for (int c = 0; c < p.channels(); c++) {
      int base = c * h * w;
      for (int y = 0; y < oh; y++) {
        for (int x = 0; x < ow; x++) {
          // (sy, sx): the stored pixel shown at output (y, x)
          int sy;
          int sx;
          switch (o) {
            case 2 -> { sy = y; sx = w - 1 - x; }
            case 3 -> { sy = h - 1 - y; sx = w - 1 - x; }
            case 4 -> { sy = h - 1 - y; sx = x; }
            case 5 -> { sy = x; sx = y; }
            case 6 -> { sy = h - 1 - x; sx = y; }
            case 7 -> { sy = h - 1 - x; sx = w - 1 - y; }
            case 8 -> { sy = x; sx = w - 1 - y; }
            default -> { sy = y; sx = x; }
          }
          out[base + y * ow + x] = in[base + sy * w + sx];
        }
      }
    }
    return new Pixels(out, p.channels(), oh, ow);
  }
}

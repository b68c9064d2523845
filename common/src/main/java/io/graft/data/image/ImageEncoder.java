package io.graft.data.image;

import com.twelvemonkeys.imageio.metadata.tiff.TIFF;
import com.twelvemonkeys.imageio.metadata.tiff.TIFFEntry;
import com.twelvemonkeys.imageio.metadata.tiff.TIFFWriter;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Locale;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/**
 * Writes Graft images ({@code [C, H, W]} floats in [0, 1]) as image files, in the encodings and
 * modes that real collections mix: grey and RGB PNG, 16-bit grey PNG, palette GIF, 24-bit BMP,
 * baseline and progressive JPEG, and JPEG with an EXIF orientation. {@code graft export-images}
 * uses it to turn a dataset into image folders, lists and tables. PNG and JPEG keep an image's
 * channels; {@code PNG_RGB} and BMP are always RGB; {@code PNG_16} and GIF always grey.
 */
public final class ImageEncoder {
  private ImageEncoder() {}

  /** The file encodings (and modes) {@link #encode} writes. */
  public enum Encoding {
    PNG("png"), PNG_RGB("png"), PNG_16("png"), GIF("gif"), BMP("bmp"), JPEG("jpg"), JPEG_PROGRESSIVE("jpg"),
    /** Stored rotated 90 degrees anticlockwise with EXIF orientation 6, so that it shows upright. */
    JPEG_EXIF_ROTATED("jpg");

    private final String extension;

    Encoding(String extension) {
      this.extension = extension;
    }

    public String extension() {
      return extension;
    }

    public boolean lossless() {
      return extension.equals("png") || extension.equals("gif") || extension.equals("bmp");
    }

    public static Encoding parse(String value) {
      for (Encoding e : values()) {
        if (e.name().toLowerCase(Locale.ROOT).replace('_', '-').equals(value.toLowerCase(Locale.ROOT))) {
          return e;
        }
      }
      throw new IllegalArgumentException("unknown encoding '" + value + "'");
    }
  }

  /** Encodes a 1- or 3-channel image of {@code height} x {@code width}. */
  public static byte[] encode(float[] image, int channels, int height, int width, Encoding encoding) {
    try {
      return switch (encoding) {
        case PNG -> write(channels == 1 ? grey(image, 1, height, width) : rgb(image, 3, height, width), "png", null);
        case PNG_RGB, BMP -> write(rgb(image, channels, height, width), encoding == Encoding.BMP ? "bmp" : "png", null);
        case PNG_16 -> write(grey16(image, channels, height, width), "png", null);
        case GIF -> write(palette(image, channels, height, width), "gif", null);
        case JPEG -> write(channels == 1 ? grey(image, 1, height, width) : rgb(image, 3, height, width), "jpeg", false);
        case JPEG_PROGRESSIVE -> write(channels == 1 ? grey(image, 1, height, width) : rgb(image, 3, height, width), "jpeg", true);
        case JPEG_EXIF_ROTATED -> withOrientation6(write(channels == 1 ? grey(rotateLeft(image, channels, height, width), 1, width, height)
            : rgb(rotateLeft(image, channels, height, width), 3, width, height), "jpeg", false));
      };
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static int byteOf(float v) {
    return Math.max(0, Math.min(255, Math.round(v * 255)));
  }

  private static float greyAt(float[] image, int channels, int plane, int i) {
    return channels == 1 ? image[i] : (float) (0.299 * image[i] + 0.587 * image[plane + i] + 0.114 * image[2 * plane + i]);
  }

  private static BufferedImage grey(float[] image, int channels, int height, int width) {
    BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_BYTE_GRAY);
    WritableRaster r = img.getRaster();
    int plane = height * width;
    for (int i = 0; i < plane; i++) {
      r.setSample(i % width, i / width, 0, byteOf(greyAt(image, channels, plane, i)));
    }
    return img;
  }

  private static BufferedImage grey16(float[] image, int channels, int height, int width) {
    BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_USHORT_GRAY);
    WritableRaster r = img.getRaster();
    int plane = height * width;
    for (int i = 0; i < plane; i++) {
      r.setSample(i % width, i / width, 0, byteOf(greyAt(image, channels, plane, i)) * 257);
    }
    return img;
  }

  private static BufferedImage rgb(float[] image, int channels, int height, int width) {
    BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    int plane = height * width;
    for (int i = 0; i < plane; i++) {
      int r = byteOf(image[i]);
      int g = byteOf(channels == 1 ? image[i] : image[plane + i]);
      int b = byteOf(channels == 1 ? image[i] : image[2 * plane + i]);
      img.setRGB(i % width, i / width, (r << 16) | (g << 8) | b);
    }
    return img;
  }

  private static BufferedImage palette(float[] image, int channels, int height, int width) {
    byte[] levels = new byte[256];
    for (int i = 0; i < 256; i++) {
      levels[i] = (byte) i;
    }
    IndexColorModel greys = new IndexColorModel(8, 256, levels, levels, levels);
    BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_BYTE_INDEXED, greys);
    WritableRaster r = img.getRaster();
    int plane = height * width;
    for (int i = 0; i < plane; i++) {
      r.setSample(i % width, i / width, 0, byteOf(greyAt(image, channels, plane, i)));
    }
    return img;
  }

  /** The image turned 90 degrees anticlockwise: [C, W, H]. */
  private static float[] rotateLeft(float[] image, int channels, int height, int width) {
    float[] out = new float[image.length];
    for (int c = 0; c < channels; c++) {
      int base = c * height * width;
      for (int y = 0; y < height; y++) {
        for (int x = 0; x < width; x++) {
          // source (y, x) lands at (width - 1 - x, y) of the height-wide result
          out[base + (width - 1 - x) * height + y] = image[base + y * width + x];
        }
      }
    }
    return out;
  }

  private static byte[] write(BufferedImage img, String format, Boolean progressive) throws IOException {
    ImageWriter writer = ImageIO.getImageWritersByFormatName(format).next();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
      writer.setOutput(out);
      ImageWriteParam param = writer.getDefaultWriteParam();
      if (progressive != null) {
        param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
        param.setCompressionQuality(0.95f);
        if (progressive) {
          param.setProgressiveMode(ImageWriteParam.MODE_DEFAULT);
        }
      }
      writer.write(null, new IIOImage(img, null, null), param);
    } finally {
      writer.dispose();
    }
    return bytes.toByteArray();
  }

  /** Inserts an EXIF APP1 segment with orientation 6 (rotate 90 degrees clockwise to show) after the JPEG's SOI marker. */
  private static byte[] withOrientation6(byte[] jpeg) throws IOException {
    ByteArrayOutputStream tiff = new ByteArrayOutputStream();
    try (ImageOutputStream out = new MemoryCacheImageOutputStream(tiff)) {
      new TIFFWriter().write(List.of(new TIFFEntry(TIFF.TAG_ORIENTATION, TIFF.TYPE_SHORT, (short) 6)), out);
    }
    byte[] t = tiff.toByteArray();
    byte[] id = {'E', 'x', 'i', 'f', 0, 0};
    int length = 2 + id.length + t.length;
    ByteArrayOutputStream out = new ByteArrayOutputStream(jpeg.length + length + 2);
    out.write(jpeg, 0, 2);
    out.write(0xFF);
    out.write(0xE1);
    out.write(length >> 8);
    out.write(length & 0xff);
    out.write(id);
    out.write(t);
    out.write(jpeg, 2, jpeg.length - 2);
    return out.toByteArray();
  }

  /** Which encoding the {@code i}-th file of a mixed collection gets (cycling through every one). */
  public static Encoding mixed(int i) {
    Encoding[] all = Encoding.values();
    return all[Math.floorMod(i, all.length)];
  }
}

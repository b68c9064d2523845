package io.graft.jobs.bench;

import io.graft.config.ConfigException;
import io.graft.data.Augmentation;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Random;
import java.util.zip.GZIPInputStream;

/**
 * A larger image dataset made from a real one, for measuring how cost grows with the data: an IDX
 * image file and its labels (MNIST's format) written to {@code rows} examples, the first pass the
 * original images and every later one the originals shifted by up to 2 pixels and rotated by up to
 * 15 degrees, seeded per row (so the same {@code rows} and seed give the same bytes). Labels are
 * the originals'. Both files are written beside their final names and renamed when complete.
 */
public final class EnlargedIdx {
  private static final int IMAGES_MAGIC = 0x00000803;
  private static final int LABELS_MAGIC = 0x00000801;

  private EnlargedIdx() {}

  /** What was written. */
  public record Result(Path images, Path labels, long rows, int sourceRows) {}

  /**
   * Writes {@code rows} examples from {@code images} / {@code labels} (IDX, optionally gzipped) to
   * {@code output/train-images-idx3-ubyte} and {@code output/train-labels-idx1-ubyte}.
   *
   * @throws ConfigException for a file that is not an IDX image or label file, or counts that disagree
   */
  public static Result write(Path images, Path labels, long rows, long seed, Path output) throws IOException {
    ConfigException.require(rows >= 1 && rows <= Integer.MAX_VALUE, "--rows must be between 1 and %s, cannot be: %s", Integer.MAX_VALUE, rows);
    byte[][] source;
    byte[] sourceLabels;
    int height;
    int width;
    try (DataInputStream in = open(images)) {
      ConfigException.require(in.readInt() == IMAGES_MAGIC, "%s is not an IDX image file (magic 0x00000803)", images);
      int n = in.readInt();
      height = in.readInt();
      width = in.readInt();
      source = new byte[n][height * width];
      for (byte[] image : source) {
        in.readFully(image);
      }
    }
    try (DataInputStream in = open(labels)) {
      ConfigException.require(in.readInt() == LABELS_MAGIC, "%s is not an IDX label file (magic 0x00000801)", labels);
      int n = in.readInt();
      ConfigException.require(n == source.length, "%s has %s labels for the %s images of %s", labels, n, source.length, images);
      sourceLabels = new byte[n];
      in.readFully(sourceLabels);
    }
    Files.createDirectories(output);
    Path imagesOut = output.resolve("train-images-idx3-ubyte");
    Path labelsOut = output.resolve("train-labels-idx1-ubyte");
    Path imagesTmp = output.resolve(".train-images-idx3-ubyte.tmp");
    Path labelsTmp = output.resolve(".train-labels-idx1-ubyte.tmp");
    Augmentation aug = new Augmentation(2, 15.0, 0.0);
    float[] pixels = new float[height * width];
    byte[] row = new byte[height * width];
    try (DataOutputStream img = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(imagesTmp), 1 << 20));
        DataOutputStream lab = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(labelsTmp), 1 << 16))) {
      img.writeInt(IMAGES_MAGIC);
      img.writeInt((int) rows);
      img.writeInt(height);
      img.writeInt(width);
      lab.writeInt(LABELS_MAGIC);
      lab.writeInt((int) rows);
      for (long r = 0; r < rows; r++) {
        int s = (int) (r % source.length);
        if (r < source.length) {
          img.write(source[s]);
        } else {
          for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (source[s][i] & 0xff) / 255f;
          }
          float[] moved = aug.apply(pixels, 1, height, width, new Random(seed * 1_000_003L + r));
          for (int i = 0; i < row.length; i++) {
            row[i] = (byte) Math.round(Math.max(0f, Math.min(1f, moved[i])) * 255f);
          }
          img.write(row);
        }
        lab.writeByte(sourceLabels[s]);
      }
    }
    Files.move(imagesTmp, imagesOut, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    Files.move(labelsTmp, labelsOut, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    return new Result(imagesOut, labelsOut, rows, source.length);
  }

  private static DataInputStream open(Path file) throws IOException {
    ConfigException.require(Files.isRegularFile(file), "No such file: %s", file);
    InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
    return new DataInputStream(file.getFileName().toString().endsWith(".gz") ? new GZIPInputStream(in) : in);
  }
}

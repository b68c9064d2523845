package io.graft.jobs.bench;

import io.graft.config.ConfigException;
import io.graft.data.Augmentation;
import io.graft.data.IdxReader;
import io.graft.store.Storage;
import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Random;

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
   * Writes {@code rows} examples from {@code images} / {@code labels} (IDX, optionally gzipped, on
   * any filesystem {@code storage} reaches) to {@code output/train-images-idx3-ubyte} and
   * {@code output/train-labels-idx1-ubyte}.
   *
   * @throws ConfigException for a file that is not an IDX image file
   * @throws io.graft.data.DataException for a corrupt file, or counts that disagree (IdxReader's checks)
   */
  public static Result write(Storage storage, String images, String labels, long rows, long seed, Path output) throws IOException {
    ConfigException.require(rows >= 1 && rows <= Integer.MAX_VALUE, "--rows must be between 1 and %s, cannot be: %s", Integer.MAX_VALUE, rows);
    org.apache.hadoop.fs.Path imagesPath = storage.path(images);
    org.apache.hadoop.fs.Path labelsPath = storage.path(labels);
    IdxReader.Pair headers = IdxReader.inspect(storage, imagesPath, labelsPath);
    ConfigException.require(headers.images().dims().length == 3, "%s is not an IDX image file (3 dimensions: count, height, width)", images);
    int height = headers.images().dims()[1];
    int width = headers.images().dims()[2];
    int size = height * width;
    int sourceRows = headers.images().count();
    IdxReader.Records source = IdxReader.readAll(storage, imagesPath, labelsPath, headers);
    Files.createDirectories(output);
    Path imagesOut = output.resolve("train-images-idx3-ubyte");
    Path labelsOut = output.resolve("train-labels-idx1-ubyte");
    Path imagesTmp = output.resolve(".train-images-idx3-ubyte.tmp");
    Path labelsTmp = output.resolve(".train-labels-idx1-ubyte.tmp");
    Augmentation aug = new Augmentation(2, 15.0, 0.0);
    float[] pixels = new float[size];
    byte[] row = new byte[size];
    try (DataOutputStream img = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(imagesTmp), 1 << 20));
        DataOutputStream lab = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(labelsTmp), 1 << 16))) {
      img.writeInt(IMAGES_MAGIC);
      img.writeInt((int) rows);
      img.writeInt(height);
      img.writeInt(width);
      lab.writeInt(LABELS_MAGIC);
      lab.writeInt((int) rows);
      for (long r = 0; r < rows; r++) {
        int s = (int) (r % sourceRows);
        if (r < sourceRows) {
          img.write(source.pixels(), s * size, size);
        } else {
          for (int i = 0; i < size; i++) {
            pixels[i] = (source.pixels()[s * size + i] & 0xff) / 255f;
          }
          float[] moved = aug.apply(pixels, 1, height, width, new Random(seed * 1_000_003L + r));
          for (int i = 0; i < row.length; i++) {
            row[i] = (byte) Math.round(Math.max(0f, Math.min(1f, moved[i])) * 255f);
          }
          img.write(row);
        }
        lab.writeByte(source.labels()[s]);
      }
    }
    Files.move(imagesTmp, imagesOut, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    Files.move(labelsTmp, labelsOut, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    return new Result(imagesOut, labelsOut, rows, sourceRows);
  }
}

package io.graft.data;

import io.graft.store.Storage;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.ZipException;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.Path;

/**
 * Reads a slice of records from an IDX image file and its label file. A raw file is read by
 * seeking straight to the slice, so Spark tasks can each read their own range of one file; a
 * gzip file is decompressed from its start and skipped forward.
 */
public final class IdxReader {
  private IdxReader() {}

  /** The headers of an image/label pair, checked against each other and the file sizes. */
  public record Pair(IdxHeader images, IdxHeader labels) implements Serializable {}

  /** Reads and cross-checks both headers; errors name the file. */
  public static Pair inspect(Storage storage, Path images, Path labels) throws IOException {
    IdxHeader ih;
    try (InputStream in = storage.open(images)) {
      ih = IdxHeader.read(in, images.toString());
    }
    IdxHeader lh;
    try (InputStream in = storage.open(labels)) {
      lh = IdxHeader.read(in, labels.toString());
    }
    if (lh.dims().length != 1) {
      throw new DataException("IDX label file " + labels + " has " + lh.dims().length + " dimensions, expected 1 (one label per record)");
    }
    if (ih.count() != lh.count()) {
      throw new DataException("IDX files disagree: " + images + " has " + ih.count() + " records but " + labels + " has " + lh.count());
    }
    checkLength(storage, images, ih);
    checkLength(storage, labels, lh);
    return new Pair(ih, lh);
  }

  private static void checkLength(Storage storage, Path file, IdxHeader h) throws IOException {
    if (storage.isGzip(file)) {
      return; // checked while reading: a truncated stream fails with the record number
    }
    long expected = h.headerBytes() + (long) h.count() * h.recordSize();
    long actual = storage.status(file).getLen();
    if (actual != expected) {
      throw new DataException("Corrupt IDX file " + file + ": " + actual + " bytes, but its header promises " + expected
          + " (" + h.count() + " records of " + h.recordSize() + " bytes)");
    }
  }

  /**
   * Reads records {@code [start, end)} as examples with pixel values divided by {@code scale}.
   *
   * @throws DataException naming the file and record when a stream ends early
   */
  public static List<Example> read(Storage storage, Path images, Path labels, Pair headers, int start, int end, float scale)
      throws IOException {
    int size = headers.images().recordSize();
    byte[] pixels = new byte[(end - start) * size];
    byte[] labelBytes = new byte[end - start];
    readRange(storage, images, headers.images(), start, end, pixels);
    readRange(storage, labels, headers.labels(), start, end, labelBytes);
    List<Example> out = new ArrayList<>(end - start);
    for (int i = 0; i < end - start; i++) {
      float[] f = new float[size];
      int off = i * size;
      for (int j = 0; j < size; j++) {
        f[j] = (pixels[off + j] & 0xff) / scale;
      }
      out.add(new Example(f, labelBytes[i] & 0xff, null));
    }
    return out;
  }

  /** Every record's raw bytes: the images' pixels back to back, and one byte per label. */
  public record Records(byte[] pixels, byte[] labels) {}

  /**
   * All records of a checked image/label pair, unscaled.
   *
   * @throws DataException naming the file and record when a stream ends early
   */
  public static Records readAll(Storage storage, Path images, Path labels, Pair headers) throws IOException {
    int count = headers.images().count();
    byte[] pixels = new byte[Math.multiplyExact(count, headers.images().recordSize())];
    byte[] labelBytes = new byte[count];
    readRange(storage, images, headers.images(), 0, count, pixels);
    readRange(storage, labels, headers.labels(), 0, count, labelBytes);
    return new Records(pixels, labelBytes);
  }

  private static void readRange(Storage storage, Path file, IdxHeader h, int start, int end, byte[] into) throws IOException {
    long offset = h.headerBytes() + (long) start * h.recordSize();
    if (storage.isGzip(file)) {
      try (InputStream in = storage.open(file)) {
        skipFully(in, offset, file, h, start);
        readFully(in, into, file, h, start);
      }
    } else {
      try (FSDataInputStream in = storage.fs(file).open(file)) {
        in.seek(offset);
        readFully(in, into, file, h, start);
      }
    }
  }

  private static void skipFully(InputStream in, long n, Path file, IdxHeader h, int start) throws IOException {
    long left = n;
    while (left > 0) {
      long skipped;
      try {
        skipped = in.skip(left);
      } catch (EOFException e) {
        throw new DataException("Corrupt IDX file " + file + ": stream ends before record " + start + " of " + h.count());
      }
      if (skipped <= 0) {
        if (in.read() < 0) {
          throw new DataException("Corrupt IDX file " + file + ": stream ends before record " + start + " of " + h.count());
        }
        skipped = 1;
      }
      left -= skipped;
    }
  }

  private static void readFully(InputStream in, byte[] into, Path file, IdxHeader h, int start) throws IOException {
    try {
      new DataInputStream(in).readFully(into);
    } catch (EOFException e) {
      throw new DataException("Corrupt IDX file " + file + ": stream ends inside records " + start + "-"
          + (start + into.length / Math.max(1, h.recordSize())) + " of " + h.count());
    } catch (ZipException e) {
      throw new DataException("Corrupt gzip file " + file + ": " + e.getMessage());
    }
  }
}

package io.graft.data;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.util.Arrays;

/**
 * The header of an IDX file (the MNIST format): a magic number whose third byte is the element
 * type and whose fourth is the number of dimensions, then one big-endian int per dimension.
 * Only unsigned bytes (type 0x08) are accepted; that is what MNIST and Fashion-MNIST use.
 */
public record IdxHeader(int[] dims) implements Serializable {
  static final int TYPE_UNSIGNED_BYTE = 0x08;

  /** Number of records (the first dimension). */
  public int count() {
    return dims[0];
  }

  /** Bytes per record: the product of the remaining dimensions. */
  public int recordSize() {
    int size = 1;
    for (int i = 1; i < dims.length; i++) {
      size *= dims[i];
    }
    return size;
  }

  /** The shape of one record, e.g. {@code [28, 28]} for MNIST images, {@code []} for labels. */
  public int[] recordShape() {
    return Arrays.copyOfRange(dims, 1, dims.length);
  }

  public int headerBytes() {
    return 4 + 4 * dims.length;
  }

  /** Reads the header; {@code name} is used in the error message of a corrupt file. */
  public static IdxHeader read(InputStream in, String name) throws IOException {
    DataInputStream data = new DataInputStream(in);
    int magic;
    try {
      magic = data.readInt();
    } catch (EOFException e) {
      throw new DataException("Corrupt IDX file " + name + ": shorter than its 4-byte magic number");
    }
    int type = (magic >>> 8) & 0xff;
    int ndims = magic & 0xff;
    if ((magic >>> 16) != 0 || ndims < 1 || ndims > 4) {
      throw new DataException(String.format(
          "Corrupt IDX file %s: bad magic number 0x%08x (expected 0x0000TTDD with 1-4 dimensions)", name, magic));
    }
    if (type != TYPE_UNSIGNED_BYTE) {
      throw new DataException(String.format(
          "Unsupported IDX file %s: element type 0x%02x (only unsigned bytes, 0x08, are supported)", name, type));
    }
    int[] dims = new int[ndims];
    try {
      for (int i = 0; i < ndims; i++) {
        dims[i] = data.readInt();
        if (dims[i] <= 0) {
          throw new DataException("Corrupt IDX file " + name + ": dimension " + i + " is " + dims[i]);
        }
      }
    } catch (EOFException e) {
      throw new DataException("Corrupt IDX file " + name + ": header truncated");
    }
    return new IdxHeader(dims);
  }
}

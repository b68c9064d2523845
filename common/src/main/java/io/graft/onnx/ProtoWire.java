package io.graft.onnx;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/** The protobuf wire format as {@link OnnxModel} reads it: a cursor over one message's bytes, and what a malformed one throws. */
final class ProtoWire {
  private ProtoWire() {}

  /** Malformed protobuf: a length or tag that runs past the bytes, or a wire type ONNX does not use. */
  static final class WireException extends RuntimeException {
    WireException(String message) {
      super(message);
    }
  }

  /** A cursor over one protobuf message's bytes. */
  static final class Wire {
    private final byte[] buf;
    private int pos;
    private final int limit;

    Wire(byte[] buf, int pos, int limit) {
      this.buf = buf;
      this.pos = pos;
      this.limit = limit;
    }

    boolean more() {
      return pos < limit;
    }

    int tag() {
      long tag = varint();
      if (tag >>> 3 == 0 || (tag & 7) > 5 || (tag & 7) == 3 || (tag & 7) == 4) {
        throw new WireException("bad field tag " + tag + " at byte " + pos);
      }
      return (int) tag;
    }

    long varint() {
      long value = 0;
      for (int shift = 0; shift < 64; shift += 7) {
        if (pos >= limit) {
          throw new WireException("a number runs past the end at byte " + pos);
        }
        byte b = buf[pos++];
        value |= (long) (b & 0x7f) << shift;
        if (b >= 0) {
          return value;
        }
      }
      throw new WireException("a number longer than 10 bytes at byte " + pos);
    }

    private int length() {
      long n = varint();
      if (n < 0 || n > limit - pos) {
        throw new WireException("a field of " + n + " bytes runs past the end (" + (limit - pos) + " left) at byte " + pos);
      }
      return (int) n;
    }

    Wire message() {
      int n = length();
      Wire sub = new Wire(buf, pos, pos + n);
      pos += n;
      return sub;
    }

    byte[] bytes() {
      int n = length();
      byte[] out = Arrays.copyOfRange(buf, pos, pos + n);
      pos += n;
      return out;
    }

    String string() {
      int n = length();
      String s = new String(buf, pos, n, StandardCharsets.UTF_8);
      pos += n;
      return s;
    }

    float float32() {
      return Float.intBitsToFloat((int) fixed(4));
    }

    private long fixed(int size) {
      if (limit - pos < size) {
        throw new WireException("a fixed-size field runs past the end at byte " + pos);
      }
      long v = 0;
      for (int k = 0; k < size; k++) {
        v |= (long) (buf[pos++] & 0xff) << (8 * k);
      }
      return v;
    }

    /** A repeated varint field, packed or not. */
    void varints(int tag, List<Long> out) {
      if ((tag & 7) == 2) {
        Wire packed = message();
        while (packed.more()) {
          out.add(packed.varint());
        }
      } else {
        out.add(varint());
      }
    }

    void floats(int tag, List<Float> out) {
      if ((tag & 7) == 2) {
        Wire packed = message();
        while (packed.more()) {
          out.add(packed.float32());
        }
      } else {
        out.add(float32());
      }
    }

    void doubles(int tag, List<Double> out) {
      if ((tag & 7) == 2) {
        Wire packed = message();
        while (packed.more()) {
          out.add(Double.longBitsToDouble(packed.fixed(8)));
        }
      } else {
        out.add(Double.longBitsToDouble(fixed(8)));
      }
    }

    void skip(int tag) {
      switch (tag & 7) {
        case 0 -> varint();
        case 1 -> fixed(8);
        case 2 -> {
          int n = length(); // before pos is read: "pos += length()" would add to the pre-length position
          pos += n;
        }
        case 5 -> fixed(4);
        default -> throw new WireException("wire type " + (tag & 7) + " at byte " + pos);
      }
    }
  }
}

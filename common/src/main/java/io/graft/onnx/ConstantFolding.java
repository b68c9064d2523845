package io.graft.onnx;

import static io.graft.onnx.OnnxImport.BATCH;
import static io.graft.onnx.OnnxImport.refuse;

import io.graft.onnx.OnnxImport.Value;
import io.graft.onnx.OnnxModel.Attribute;
import io.graft.onnx.OnnxModel.Node;
import io.graft.onnx.OnnxModel.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Evaluates, at import time, the nodes whose inputs are all known: {@code Constant}s, and the shape
 * arithmetic exporters write around a dynamic flatten ({@code Shape → Gather → Unsqueeze → Concat →
 * Reshape}). The batch dimension folds to a marker ({@link OnnxImport#BATCH}) so the reshape it
 * feeds is recognised as a flatten.
 */
final class ConstantFolding {
  private final OnnxImport im;

  ConstantFolding(OnnxImport im) {
    this.im = im;
  }

  /** Folds the node if its result is known now; false when the node computes on the graph's data. */
  boolean fold(Node n) {
    Tensor result = switch (n.opType()) {
      case "Constant" -> constant(n);
      case "Shape" -> shape(n);
      case "Identity", "Gather", "Unsqueeze", "Squeeze", "Concat", "Slice", "Cast", "Reshape", "Add", "Sub", "Mul", "Div" -> allConstant(n) ? evaluate(n) : null;
      default -> null;
    };
    if (result == null) {
      return false;
    }
    im.constants.put(n.outputs().get(0), result);
    return true;
  }

  private boolean allConstant(Node n) {
    return n.inputs().stream().allMatch(i -> i.isEmpty() || im.constants.containsKey(i));
  }

  private Tensor constant(Node n) {
    Attribute value = n.attributes().get("value");
    String out = n.outputs().get(0);
    if (value != null && value.t() != null) {
      Tensor t = value.t();
      return new Tensor(out, t.dims(), t.dataType(), t.floats(), t.longs());
    }
    Attribute f = n.attributes().get("value_float");
    if (f != null) {
      return new Tensor(out, new long[0], Tensor.FLOAT, new float[] {f.f()}, null);
    }
    Attribute fs = n.attributes().get("value_floats");
    if (fs != null) {
      return new Tensor(out, new long[] {fs.floats().length}, Tensor.FLOAT, fs.floats(), null);
    }
    Attribute i = n.attributes().get("value_int");
    if (i != null) {
      return new Tensor(out, new long[0], Tensor.INT64, null, new long[] {i.i()});
    }
    Attribute is = n.attributes().get("value_ints");
    if (is != null) {
      return new Tensor(out, new long[] {is.ints().length}, Tensor.INT64, null, is.ints());
    }
    throw refuse(n, "a Constant without a value Graft reads (value, value_float(s), value_int(s))");
  }

  private Tensor shape(Node n) {
    Value x = im.values.get(n.inputs().get(0));
    if (x == null) {
      return null;
    }
    if (n.attributes().containsKey("start") || n.attributes().containsKey("end")) {
      throw refuse(n, "attributes start/end are not supported");
    }
    long[] s = x.shape().clone();
    s[0] = BATCH;
    return new Tensor(n.outputs().get(0), new long[] {s.length}, Tensor.INT64, null, s);
  }

  private Tensor in(Node n, int k) {
    return k < n.inputs().size() && !n.inputs().get(k).isEmpty() ? im.constants.get(n.inputs().get(k)) : null;
  }

  private Tensor evaluate(Node n) {
    Tensor x = in(n, 0);
    String out = n.outputs().get(0);
    switch (n.opType()) {
      case "Identity" -> {
        return new Tensor(out, x.dims(), x.dataType(), x.floats(), x.longs());
      }
      case "Gather" -> {
        Tensor idx = in(n, 1);
        long axis = OnnxOps.intAttr(n, "axis", 0);
        if (x.dims().length != 1 || axis != 0 || x.isFloat()) {
          throw refuse(n, "folded only for 1-D integer shapes along axis 0");
        }
        long[] v = new long[idx.longs().length];
        for (int i = 0; i < v.length; i++) {
          long k = idx.longs()[i];
          v[i] = x.longs()[(int) (k < 0 ? k + x.longs().length : k)];
        }
        return new Tensor(out, idx.dims(), Tensor.INT64, null, v);
      }
      case "Unsqueeze", "Squeeze" -> {
        long[] axes = in(n, 1) != null ? in(n, 1).longs() : OnnxOps.intsAttr(n, "axes", new long[0]);
        List<Long> dims = new ArrayList<>();
        for (long d : x.dims()) {
          dims.add(d);
        }
        if (n.opType().equals("Unsqueeze")) {
          long rank = dims.size() + axes.length;
          long[] sorted = Arrays.stream(axes).map(a -> a < 0 ? a + rank : a).sorted().toArray();
          for (long a : sorted) {
            dims.add((int) a, 1L);
          }
        } else {
          dims.removeIf(d -> d == 1);
        }
        return new Tensor(out, dims.stream().mapToLong(Long::longValue).toArray(), x.dataType(), x.floats(), x.longs());
      }
      case "Concat" -> {
        List<Long> v = new ArrayList<>();
        for (int i = 0; i < n.inputs().size(); i++) {
          Tensor t = in(n, i);
          if (t.isFloat() || t.dims().length != 1) {
            throw refuse(n, "folded only for 1-D integer shapes");
          }
          for (long l : t.longs()) {
            v.add(l);
          }
        }
        return new Tensor(out, new long[] {v.size()}, Tensor.INT64, null, v.stream().mapToLong(Long::longValue).toArray());
      }
      case "Slice" -> {
        if (x.isFloat() || x.dims().length != 1) {
          throw refuse(n, "folded only for 1-D integer shapes");
        }
        long len = x.longs().length;
        long start = clampIndex(in(n, 1).longs()[0], len);
        long end = clampIndex(in(n, 2).longs()[0], len);
        long step = in(n, 4) == null ? 1 : in(n, 4).longs()[0];
        List<Long> v = new ArrayList<>();
        for (long i = start; step > 0 ? i < end : i > end; i += step) {
          v.add(x.longs()[(int) i]);
        }
        return new Tensor(out, new long[] {v.size()}, Tensor.INT64, null, v.stream().mapToLong(Long::longValue).toArray());
      }
      case "Cast" -> {
        long to = OnnxOps.intAttr(n, "to", 1);
        boolean toFloat = to == Tensor.FLOAT || to == Tensor.DOUBLE;
        if (toFloat == x.isFloat()) {
          return new Tensor(out, x.dims(), x.dataType(), x.floats(), x.longs());
        }
        if (toFloat) {
          float[] f = new float[x.longs().length];
          for (int i = 0; i < f.length; i++) {
            f[i] = x.longs()[i];
          }
          return new Tensor(out, x.dims(), Tensor.FLOAT, f, null);
        }
        long[] l = new long[x.floats().length];
        for (int i = 0; i < l.length; i++) {
          l[i] = (long) x.floats()[i];
        }
        return new Tensor(out, x.dims(), Tensor.INT64, null, l);
      }
      case "Reshape" -> {
        long[] target = in(n, 1).longs();
        if (Arrays.stream(target).noneMatch(d -> d <= 0)) {
          return new Tensor(out, target, x.dataType(), x.floats(), x.longs());
        }
        if (x.size() == 1 && target.length == 1) {
          return new Tensor(out, new long[] {1}, x.dataType(), x.floats(), x.longs());
        }
        throw refuse(n, "reshape of constant " + x + " to " + Arrays.toString(target) + " is not folded");
      }
      default -> {
        return arithmetic(n, x, in(n, 1));
      }
    }
  }

  private static long clampIndex(long i, long len) {
    long j = i < 0 ? i + len : i;
    return Math.max(0, Math.min(len, j));
  }

  /** Add/Sub/Mul/Div between two constants of one size (or a scalar and anything). */
  private Tensor arithmetic(Node n, Tensor a, Tensor b) {
    if (a.isFloat() != b.isFloat() || a.size() != b.size() && a.size() != 1 && b.size() != 1) {
      throw refuse(n, "constants " + a + " and " + b + " are folded only with one type and one size (or a scalar)");
    }
    long size = Math.max(a.size(), b.size());
    long[] dims = a.size() >= b.size() ? a.dims() : b.dims();
    String op = n.opType();
    if (a.isFloat()) {
      float[] v = new float[(int) size];
      for (int i = 0; i < size; i++) {
        float x = a.floats()[a.size() == 1 ? 0 : i];
        float y = b.floats()[b.size() == 1 ? 0 : i];
        v[i] = switch (op) {
          case "Add" -> x + y;
          case "Sub" -> x - y;
          case "Mul" -> x * y;
          default -> x / y;
        };
      }
      return new Tensor(n.outputs().get(0), dims, Tensor.FLOAT, v, null);
    }
    long[] v = new long[(int) size];
    for (int i = 0; i < size; i++) {
      long x = a.longs()[a.size() == 1 ? 0 : i];
      long y = b.longs()[b.size() == 1 ? 0 : i];
      if (x == BATCH || y == BATCH) {
        throw refuse(n, "arithmetic on the batch size is not folded");
      }
      v[i] = switch (op) {
        case "Add" -> x + y;
        case "Sub" -> x - y;
        case "Mul" -> x * y;
        default -> Math.floorDiv(x, y);
      };
    }
    return new Tensor(n.outputs().get(0), dims, Tensor.INT64, null, v);
  }
}

package io.graft.onnx;

import io.graft.onnx.ProtoWire.Wire;
import io.graft.onnx.ProtoWire.WireException;
import io.graft.config.ConfigException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An ONNX model as Graft's import reads it: the graph's nodes, initializers, inputs and outputs,
 * the producer and the default-domain opset. Parsed straight from the protobuf wire format (the
 * fields of {@code onnx.proto} that a converted graph needs), so the import depends on no protobuf
 * runtime and no generated classes; fields it does not use are skipped.
 */
public record OnnxModel(long irVersion, String producerName, String producerVersion, long opset, Graph graph) {

  public record Graph(String name, List<Node> nodes, Map<String, Tensor> initializers, List<ValueInfo> inputs, List<ValueInfo> outputs) {}

  public record Node(String name, String opType, String domain, List<String> inputs, List<String> outputs, Map<String, Attribute> attributes) {
    /** The node as a message names it: its name, or its first output when the producer left it unnamed. */
    public String label() {
      return name.isEmpty() ? (outputs.isEmpty() ? opType : outputs.get(0)) : name;
    }
  }

  /** One attribute; only the field its type uses is set. */
  public record Attribute(String name, int type, float f, long i, String s, Tensor t, float[] floats, long[] ints) {
    static final int FLOAT = 1;
    static final int INT = 2;
    static final int STRING = 3;
    static final int TENSOR = 4;
    static final int FLOATS = 6;
    static final int INTS = 7;
  }

  /** A tensor's dims and values, floats or integers by its data type (NCHW, row-major as ONNX stores it). */
  public record Tensor(String name, long[] dims, int dataType, float[] floats, long[] longs) {
    static final int FLOAT = 1;
    static final int INT32 = 6;
    static final int INT64 = 7;
    static final int DOUBLE = 11;

    public long size() {
      long n = 1;
      for (long d : dims) {
        n *= d;
      }
      return n;
    }

    public boolean isFloat() {
      return floats != null;
    }

    @Override
    public String toString() {
      return name + Arrays.toString(dims);
    }
  }

  /** A graph input or output: its name and dims, a symbolic dim (the batch) as -1. */
  public record ValueInfo(String name, long[] dims) {}

  /**
   * Parses a serialized ONNX {@code ModelProto}.
   *
   * @param source names the file in messages
   * @throws ConfigException in one line when the bytes are not an ONNX model (truncated, another
   *     format, no graph)
   */
  public static OnnxModel parse(byte[] bytes, String source) {
    try {
      Wire w = new Wire(bytes, 0, bytes.length);
      long ir = 0;
      long opset = -1;
      String producer = "";
      String producerVersion = "";
      Graph graph = null;
      while (w.more()) {
        int tag = w.tag();
        switch (tag >>> 3) {
          case 1 -> ir = w.varint();
          case 2 -> producer = w.string();
          case 3 -> producerVersion = w.string();
          case 7 -> graph = graph(w.message());
          case 8 -> {
            Wire op = w.message();
            String domain = "";
            long version = 0;
            while (op.more()) {
              int t = op.tag();
              switch (t >>> 3) {
                case 1 -> domain = op.string();
                case 2 -> version = op.varint();
                default -> op.skip(t);
              }
            }
            if (domain.isEmpty() || domain.equals("ai.onnx")) {
              opset = version;
            }
          }
          default -> w.skip(tag);
        }
      }
      if (graph == null || ir == 0 || graph.nodes().isEmpty()) {
        throw new ConfigException(source + " is not an ONNX model (no graph found in its " + bytes.length + " bytes)");
      }
      return new OnnxModel(ir, producer, producerVersion, opset, graph);
    } catch (WireException e) {
      throw new ConfigException(source + " is not a readable ONNX model (" + e.getMessage() + "; truncated or another format?)");
    }
  }

  private static Graph graph(Wire w) {
    List<Node> nodes = new ArrayList<>();
    Map<String, Tensor> init = new LinkedHashMap<>();
    List<ValueInfo> inputs = new ArrayList<>();
    List<ValueInfo> outputs = new ArrayList<>();
    String name = "";
    while (w.more()) {
      int tag = w.tag();
      switch (tag >>> 3) {
        case 1 -> nodes.add(node(w.message()));
        case 2 -> name = w.string();
        case 5 -> {
          Tensor t = tensor(w.message());
          init.put(t.name(), t);
        }
        case 11 -> inputs.add(valueInfo(w.message()));
        case 12 -> outputs.add(valueInfo(w.message()));
        default -> w.skip(tag);
      }
    }
    return new Graph(name, nodes, init, inputs, outputs);
  }

  private static Node node(Wire w) {
    List<String> in = new ArrayList<>();
    List<String> out = new ArrayList<>();
    Map<String, Attribute> attrs = new LinkedHashMap<>();
    String name = "";
    String op = "";
    String domain = "";
    while (w.more()) {
      int tag = w.tag();
      switch (tag >>> 3) {
        case 1 -> in.add(w.string());
        case 2 -> out.add(w.string());
        case 3 -> name = w.string();
        case 4 -> op = w.string();
        case 5 -> {
          Attribute a = attribute(w.message());
          attrs.put(a.name(), a);
        }
        case 7 -> domain = w.string();
        default -> w.skip(tag);
      }
    }
    return new Node(name, op, domain, in, out, attrs);
  }

  private static Attribute attribute(Wire w) {
    String name = "";
    int type = 0;
    float f = 0;
    long i = 0;
    String s = null;
    Tensor t = null;
    List<Float> floats = new ArrayList<>();
    List<Long> ints = new ArrayList<>();
    while (w.more()) {
      int tag = w.tag();
      switch (tag >>> 3) {
        case 1 -> name = w.string();
        case 2 -> f = w.float32();
        case 3 -> i = w.varint();
        case 4 -> s = w.string();
        case 5 -> t = tensor(w.message());
        case 7 -> w.floats(tag, floats);
        case 8 -> w.varints(tag, ints);
        case 20 -> type = (int) w.varint();
        default -> w.skip(tag);
      }
    }
    float[] fs = new float[floats.size()];
    for (int k = 0; k < fs.length; k++) {
      fs[k] = floats.get(k);
    }
    return new Attribute(name, type, f, i, s, t, fs, ints.stream().mapToLong(Long::longValue).toArray());
  }

  private static Tensor tensor(Wire w) {
    List<Long> dims = new ArrayList<>();
    int type = 0;
    String name = "";
    List<Float> floatData = new ArrayList<>();
    List<Long> intData = new ArrayList<>();
    List<Double> doubleData = new ArrayList<>();
    byte[] raw = null;
    while (w.more()) {
      int tag = w.tag();
      switch (tag >>> 3) {
        case 1 -> w.varints(tag, dims);
        case 2 -> type = (int) w.varint();
        case 4 -> w.floats(tag, floatData);
        case 5, 7 -> w.varints(tag, intData);
        case 8 -> name = w.string();
        case 9 -> raw = w.bytes();
        case 10 -> w.doubles(tag, doubleData);
        case 14 -> throw new ConfigException("ONNX tensor '" + name + "' keeps its data in an external file; Graft imports self-contained models only");
        default -> w.skip(tag);
      }
    }
    long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    switch (type) {
      case Tensor.FLOAT, Tensor.DOUBLE -> {
        float[] v = new float[(int) n];
        if (raw != null) {
          ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
          requireLength(name, raw.length, n * (type == Tensor.FLOAT ? 4 : 8));
          for (int k = 0; k < n; k++) {
            v[k] = type == Tensor.FLOAT ? b.getFloat() : (float) b.getDouble();
          }
        } else {
          List<? extends Number> src = type == Tensor.FLOAT ? floatData : doubleData;
          requireLength(name, src.size(), n);
          for (int k = 0; k < n; k++) {
            v[k] = src.get(k).floatValue();
          }
        }
        return new Tensor(name, shape, Tensor.FLOAT, v, null);
      }
      case Tensor.INT64, Tensor.INT32 -> {
        long[] v = new long[(int) n];
        if (raw != null) {
          ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
          requireLength(name, raw.length, n * (type == Tensor.INT64 ? 8 : 4));
          for (int k = 0; k < n; k++) {
            v[k] = type == Tensor.INT64 ? b.getLong() : b.getInt();
          }
        } else {
          requireLength(name, intData.size(), n);
          for (int k = 0; k < n; k++) {
            v[k] = intData.get(k);
          }
        }
        return new Tensor(name, shape, Tensor.INT64, null, v);
      }
      default -> throw new ConfigException("ONNX tensor '" + name + "' has data type " + type
          + "; Graft imports float32/float64 weights and int32/int64 shapes (convert float16 models to float32 first)");
    }
  }

  private static void requireLength(String tensor, long have, long want) {
    if (have != want) {
      throw new WireException("tensor '" + tensor + "' holds " + have + " values or bytes, its dims need " + want);
    }
  }

  private static ValueInfo valueInfo(Wire w) {
    String name = "";
    List<Long> dims = new ArrayList<>();
    while (w.more()) {
      int tag = w.tag();
      switch (tag >>> 3) {
        case 1 -> name = w.string();
        case 2 -> { // TypeProto
          Wire type = w.message();
          while (type.more()) {
            int t = type.tag();
            if (t >>> 3 == 1) { // tensor_type
              Wire tensorType = type.message();
              while (tensorType.more()) {
                int tt = tensorType.tag();
                if (tt >>> 3 == 2) { // shape
                  Wire shape = tensorType.message();
                  while (shape.more()) {
                    int st = shape.tag();
                    if (st >>> 3 == 1) { // dim
                      Wire dim = shape.message();
                      long value = -1;
                      while (dim.more()) {
                        int dt = dim.tag();
                        if (dt >>> 3 == 1) {
                          value = dim.varint();
                        } else {
                          dim.skip(dt);
                        }
                      }
                      dims.add(value);
                    } else {
                      shape.skip(st);
                    }
                  }
                } else {
                  tensorType.skip(tt);
                }
              }
            } else {
              type.skip(t);
            }
          }
        }
        default -> w.skip(tag);
      }
    }
    return new ValueInfo(name, dims.stream().mapToLong(Long::longValue).toArray());
  }
}

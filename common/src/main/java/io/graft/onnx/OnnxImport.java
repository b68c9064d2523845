package io.graft.onnx;

import io.graft.config.ConfigException;
import io.graft.onnx.OnnxModel.Node;
import io.graft.onnx.OnnxModel.Tensor;
import io.graft.onnx.OnnxModel.ValueInfo;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.PreprocessorVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * Converts an ONNX classifier into a trainable DL4J {@code ComputationGraph}: every node becomes a
 * DL4J layer or vertex (or folds into one: an activation into the convolution before it, a bias
 * {@code Add} into the {@code MatMul} before it, shape arithmetic into the flatten it feeds), the
 * initializers become its parameters, and the final linear layer becomes a softmax output layer so
 * the graph trains as it is. What cannot be mapped exactly is refused in one line that names the
 * operator, the node and the attribute; nothing is approximated.
 *
 * <p>The graph takes Graft's flat rows ({@code C·H·W} values in [0, 1], channels first) and
 * reshapes and normalises them into what the source model expects ({@link InputSpec}).
 */
public final class OnnxImport {
  /** Stands for the batch dimension in folded shape arithmetic. */
  static final long BATCH = Long.MIN_VALUE;

  /**
   * How Graft's pixels (in [0, 1]) become the source model's input: {@code (x · scale - mean_c) / std_c}.
   * A model trained on raw 0-255 bytes has scale 255; torchvision's models scale 1 with ImageNet's mean and std.
   */
  public record InputSpec(double scale, double[] mean, double[] std) {
    public static InputSpec identity() {
      return new InputSpec(1, new double[0], new double[0]);
    }

    public boolean isIdentity() {
      return scale == 1 && Arrays.stream(mean).allMatch(m -> m == 0) && Arrays.stream(std).allMatch(s -> s == 1);
    }

    /**
     * The two vertices that apply this spec to a {@code channels}-channel image, in order: x · (scale / std),
     * then + (−mean / std), per channel (named {@code <input>.scale} and {@code <input>.shift} by the importers).
     */
    public BroadcastVertex[] vertices(long channels) {
      double[] mul = new double[(int) channels];
      double[] shift = new double[(int) channels];
      for (int k = 0; k < channels; k++) {
        double m = value(mean, k, channels, 0, "mean");
        double s = value(std, k, channels, 1, "std");
        mul[k] = scale / s;
        shift[k] = -m / s;
      }
      long[] shape = {1, channels, 1, 1};
      return new BroadcastVertex[] {new BroadcastVertex(BroadcastVertex.Op.MUL, mul, shape, false),
          new BroadcastVertex(BroadcastVertex.Op.ADD, shift, shape, false)};
    }

    private static double value(double[] values, int k, long channels, double none, String what) {
      if (values.length == 0) {
        return none;
      }
      if (values.length != 1 && values.length != channels) {
        throw new ConfigException("--" + what + " has " + values.length + " values; the model's input has " + channels + " channels");
      }
      return values[values.length == 1 ? 0 : k];
    }
  }

  /** The converted graph, the ONNX node each vertex came from, the input shape, and what the conversion changed. */
  public record Result(ComputationGraph graph, Map<String, String> nodeToVertex, long[] inputShape, boolean softmaxAdded, List<String> notes) {}

  /** A tensor in the graph being built: the vertex that produces it and its shape, batch first (-1). */
  record Value(String vertex, long[] shape) {
    int rank() {
      return shape.length;
    }
  }

  /** A vertex not yet added to the graph: conversions of later nodes may still fold into it. */
  static final class Pending {
    final String name;
    Object conf; // a DL4J Layer or GraphVertex
    final List<String> inputs;
    final Map<String, INDArray> params = new LinkedHashMap<>();
    int consumers;

    Pending(String name, Object conf, List<String> inputs) {
      this.name = name;
      this.conf = conf;
      this.inputs = inputs;
    }
  }

  final OnnxModel model;
  final Map<String, Tensor> constants = new HashMap<>();
  final Map<String, Value> values = new HashMap<>();
  final Map<String, Pending> vertices = new LinkedHashMap<>();
  final Map<String, String> nodeToVertex = new LinkedHashMap<>();
  final Map<String, Integer> uses = new HashMap<>();
  final Set<String> outputs = new HashSet<>();
  final List<String> notes = new ArrayList<>();
  String inputVertex;
  long[] inputShape;

  private OnnxImport(OnnxModel model) {
    this.model = model;
    constants.putAll(model.graph().initializers());
    for (Node n : model.graph().nodes()) {
      for (String in : n.inputs()) {
        uses.merge(in, 1, Integer::sum);
      }
    }
    for (ValueInfo out : model.graph().outputs()) {
      outputs.add(out.name());
    }
  }

  /**
   * Converts the model.
   *
   * @throws ConfigException in one line for an operator, attribute or structure Graft does not map
   */
  public static Result convert(OnnxModel model, InputSpec input) {
    OnnxImport im = new OnnxImport(model);
    im.input(input);
    OnnxOps ops = new OnnxOps(im);
    for (Node n : model.graph().nodes()) {
      ops.convert(n);
    }
    return im.finish();
  }

  private void input(InputSpec spec) {
    List<ValueInfo> inputs = model.graph().inputs().stream().filter(v -> !constants.containsKey(v.name())).toList();
    if (inputs.size() != 1) {
      throw new ConfigException("The ONNX graph has " + inputs.size() + " inputs (" + inputs.stream().map(ValueInfo::name).toList()
          + "); Graft imports single-input models");
    }
    ValueInfo in = inputs.get(0);
    long[] dims = in.dims().clone();
    if (dims.length != 2 && dims.length != 4) {
      throw new ConfigException("The ONNX input '" + in.name() + "' has shape " + Arrays.toString(in.dims())
          + "; Graft imports images [batch, channels, height, width] or feature rows [batch, features]");
    }
    for (int d = 1; d < dims.length; d++) {
      if (dims[d] <= 0) {
        throw new ConfigException("The ONNX input '" + in.name() + "' has a symbolic dimension " + d + " (" + Arrays.toString(in.dims())
            + "); export it with a fixed size there (only the batch may vary)");
      }
    }
    dims[0] = -1;
    inputShape = Arrays.copyOfRange(dims, 1, dims.length);
    inputVertex = name(in.name());
    String current = inputVertex;
    if (dims.length == 4) {
      long c = dims[1];
      Pending chw = add(inputVertex + ".chw", new PreprocessorVertex(new FeedForwardToCnnPreProcessor(dims[2], dims[3], c)), List.of(current));
      current = chw.name;
      if (!spec.isIdentity()) {
        BroadcastVertex[] normalise = spec.vertices(c);
        current = add(inputVertex + ".scale", normalise[0], List.of(current)).name;
        current = add(inputVertex + ".shift", normalise[1], List.of(current)).name;
      }
    } else if (!spec.isIdentity()) {
      throw new ConfigException("--input-scale/--mean/--std apply to image inputs; the ONNX input '" + in.name() + "' is a feature row "
          + Arrays.toString(in.dims()));
    }
    values.put(in.name(), new Value(current, dims));
  }

  /** A valid, unused vertex name for a node: PyTorch's module path where the exporter kept it. */
  String vertexName(Node n) {
    String label = n.name().isEmpty() ? n.outputs().get(0) : n.name();
    String[] segments = label.replaceFirst("^/", "").split("/");
    List<String> path = new ArrayList<>();
    for (int i = 0; i < segments.length - 1; i++) {
      String s = segments[i];
      if (!path.isEmpty() && s.startsWith(path.get(path.size() - 1) + ".")) {
        path.set(path.size() - 1, s);
      } else {
        path.add(s);
      }
    }
    String last = segments[segments.length - 1];
    String base = path.isEmpty() ? last.toLowerCase() : String.join(".", path);
    String candidate = name(base);
    if (vertices.containsKey(candidate) || candidate.equals(inputVertex)) {
      candidate = name(path.isEmpty() ? base : base + "." + last.toLowerCase());
    }
    String unique = candidate;
    for (int k = 2; vertices.containsKey(unique) || unique.equals(inputVertex); k++) {
      unique = candidate + "_" + k;
    }
    return unique;
  }

  private static String name(String raw) {
    String s = raw.replaceAll("[^A-Za-z0-9._-]", "_");
    return s.isEmpty() ? "node" : s;
  }

  Pending add(String name, Object conf, List<String> inputs) {
    Pending p = new Pending(name, conf, new ArrayList<>(inputs));
    for (String in : inputs) {
      Pending src = vertices.get(in);
      if (src != null) {
        src.consumers++;
      }
    }
    vertices.put(name, p);
    return p;
  }

  /** Binds a node's output to a vertex and records where the node went. */
  void produce(Node n, Value v) {
    values.put(n.outputs().get(0), v);
    nodeToVertex.put(n.label(), v.vertex());
  }

  /** The value of a node's k-th input, which must be a tensor computed by the graph. */
  Value tensor(Node n, int k) {
    Value v = values.get(n.inputs().get(k));
    if (v == null) {
      throw refuse(n, "input " + k + " ('" + n.inputs().get(k) + "') is " + (constants.containsKey(n.inputs().get(k)) ? "a constant" : "not computed")
          + " where Graft needs the graph's data");
    }
    return v;
  }

  Tensor constant(Node n, int k) {
    return k < n.inputs().size() && !n.inputs().get(k).isEmpty() ? constants.get(n.inputs().get(k)) : null;
  }

  /** Whether a value is read by exactly one node and is not a graph output, so its producer may absorb the reader. */
  boolean singleUse(String value) {
    return uses.getOrDefault(value, 0) == 1 && !outputs.contains(value);
  }

  static ConfigException refuse(Node n, String what) {
    return new ConfigException("ONNX node '" + n.label() + "' (" + n.opType() + "): " + what);
  }

  private Result finish() {
    if (model.graph().outputs().size() != 1) {
      throw new ConfigException("The ONNX graph has " + model.graph().outputs().size() + " outputs; Graft imports single-output classifiers");
    }
    String outName = model.graph().outputs().get(0).name();
    Value out = values.get(outName);
    Pending head = out == null ? null : vertices.get(out.vertex());
    if (head == null || !(head.conf instanceof DenseLayer dense)
        || !(dense.getActivationFn() instanceof ActivationIdentity || dense.getActivationFn() instanceof ActivationSoftmax)) {
      Node producer = model.graph().nodes().stream().filter(n -> n.outputs().contains(outName)).findFirst().orElse(null);
      throw new ConfigException("The ONNX output '" + outName + "' comes from " + (producer == null ? "no node" : producer.opType() + " node '" + producer.label() + "'")
          + "; Graft imports classifiers whose output is a linear layer (Gemm, or MatMul + Add), optionally followed by Softmax");
    }
    boolean softmaxAdded = dense.getActivationFn() instanceof ActivationIdentity;
    if (softmaxAdded) {
      notes.add("the output layer '" + head.name + "' gives logits in the source; in Graft it applies softmax (same ranking, trainable with cross-entropy)");
    }
    OutputLayer output = new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(dense.getNIn()).nOut(dense.getNOut())
        .hasBias(dense.hasBias()).activation(Activation.SOFTMAX).build();
    head.conf = output;

    ComputationGraphConfiguration.GraphBuilder b = new NeuralNetConfiguration.Builder().dataType(DataType.FLOAT).updater(new Adam(1e-3))
        .graphBuilder().addInputs(inputVertex);
    for (Pending p : vertices.values()) {
      String[] ins = p.inputs.toArray(String[]::new);
      if (p.conf instanceof org.deeplearning4j.nn.conf.layers.Layer l) {
        l.setLayerName(p.name);
        b.addLayer(p.name, l, ins);
      } else {
        b.addVertex(p.name, (org.deeplearning4j.nn.conf.graph.GraphVertex) p.conf, ins);
      }
    }
    long flat = Arrays.stream(inputShape).reduce(1, (x, y) -> x * y);
    b.setOutputs(head.name).setInputTypes(InputType.feedForward(flat));
    ComputationGraph graph = new ComputationGraph(b.build());
    graph.init();
    for (Pending p : vertices.values()) {
      for (Map.Entry<String, INDArray> e : p.params.entrySet()) {
        INDArray target = graph.getVertex(p.name).paramTable(false).get(e.getKey());
        if (target == null || target.length() != e.getValue().length()) {
          throw new IllegalStateException("Parameter " + p.name + "_" + e.getKey() + ": DL4J holds " + (target == null ? "none" : Arrays.toString(target.shape()))
              + ", ONNX gives " + Arrays.toString(e.getValue().shape()));
        }
        target.assign(e.getValue().reshape(target.shape()));
      }
    }
    return new Result(graph, nodeToVertex, inputShape, softmaxAdded, notes);
  }

  static IActivation identity() {
    return new ActivationIdentity();
  }

  /** Whether a layer's activation may still be set (it is a layer with weights and no activation yet). */
  static boolean takesActivation(Object conf) {
    return conf instanceof BaseLayer l && !(conf instanceof OutputLayer) && l.getActivationFn() instanceof ActivationIdentity;
  }

  static INDArray array(Tensor t) {
    return Nd4j.create(t.floats(), t.dims(), DataType.FLOAT);
  }
}

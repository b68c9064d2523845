package io.graft.keras;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.graft.config.ConfigException;
import io.graft.onnx.BroadcastVertex;
import io.graft.onnx.OnnxImport.InputSpec;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.graph.PreprocessorVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.modelimport.keras.Hdf5Archive;
import org.deeplearning4j.nn.modelimport.keras.KerasModelImport;
import org.deeplearning4j.nn.modelimport.keras.exceptions.InvalidKerasConfigurationException;
import org.deeplearning4j.nn.modelimport.keras.exceptions.UnsupportedKerasConfigurationException;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationSigmoid;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * A Keras model saved as HDF5 ({@code model.save("m.h5")}: architecture and weights) as a DL4J
 * ComputationGraph Graft trains like its own: DL4J's Keras import reads the layers and weights
 * (Sequential and functional models alike), and Graft rebuilds the graph around them so that it
 * reads what Graft's datasets give every network:
 *
 * <ul>
 *   <li><b>Input.</b> Rows of features, or images as channel-first pixel rows in [0, 1]: a
 *       channel-last Keras model ({@code data_format="channels_last"}, Keras's default) gets a
 *       permutation to {@code [N, H, W, C]} in front of its first layer, and optionally the scaling
 *       and per-channel normalisation it was trained with ({@link InputSpec}).</li>
 *   <li><b>Output.</b> The last Dense layer becomes DL4J's output layer with the activation it had
 *       (a softmax written as a separate {@code Activation} layer is folded into it) and the loss that
 *       goes with it: softmax with cross-entropy; one sigmoid unit as the equivalent two-class softmax
 *       (logits 0 and z: the same probabilities, so Graft's classifiers and their two-class data
 *       apply); logits (no activation) get a softmax, which keeps their ranking; a single linear unit
 *       stays a regression output (squared error). A model that ends before any Dense layer (a trunk)
 *       takes {@code classes}: a new, untrained softmax layer is put on its last layer.</li>
 *   <li><b>Training settings.</b> Graft's jobs choose the optimiser; the per-layer updaters DL4J
 *       copies from the Keras file are dropped. Dropout layers stay.</li>
 * </ul>
 *
 * Refused in one line, before anything is written: a file that is not HDF5 (a Keras 3 {@code .keras}
 * archive is named as such), a weights-only file, a Lambda layer (Python code that is not in the
 * file), more than one input or output, an input shape that is not fixed, and anything DL4J's Keras
 * import cannot read (its message, first line).
 */
public final class KerasImport {
  /** What an import gives: the graph, which Keras layer became which vertex, and what the source was. */
  public record Result(ComputationGraph graph, Map<String, String> layerToVertex, long[] inputShape, String layout, String kerasVersion,
      String backend, String modelClass, List<String> notes) {}

  /** The graph's input vertex (Graft's rows). */
  public static final String INPUT = "input";
  /** Where a Keras layer went that became part of the next layer's input conversion (Flatten, Reshape). */
  static final String FOLDED = "(folded into the next layer's input)";
  private static final byte[] HDF5_SIGNATURE = {(byte) 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

  private final String source;
  private final List<String> notes = new ArrayList<>();
  private final Map<String, String> layerToVertex = new LinkedHashMap<>();

  private KerasImport(String source) {
    this.source = source;
  }

  /**
   * Imports the Keras HDF5 model in {@code file}.
   *
   * @param sourceName how errors and notes name the file (its URI)
   * @param classes for a model without a classifier at its end: the classes of the softmax layer to put there (else null)
   * @param seed the seed of that new layer's initial weights
   */
  public static Result convert(Path file, String sourceName, InputSpec input, Integer classes, long seed) {
    return new KerasImport(sourceName).run(file, input, classes, seed);
  }

  /** One vertex of the graph being rebuilt: a layer (with its preprocessor) or another vertex, its inputs and its weights. */
  private static final class Node {
    final String name;
    Object conf;
    InputPreProcessor pre;
    List<String> inputs;
    Map<String, INDArray> params;

    Node(String name, Object conf, InputPreProcessor pre, List<String> inputs, Map<String, INDArray> params) {
      this.name = name;
      this.conf = conf;
      this.pre = pre;
      this.inputs = new ArrayList<>(inputs);
      this.params = params;
    }
  }

  private Result run(Path file, InputSpec spec, Integer classes, long seed) {
    checkHdf5(file);
    JsonNode model;
    String kerasVersion;
    String backend;
    try (Hdf5Archive archive = new Hdf5Archive(file.toString())) {
      if (!archive.hasAttribute("model_config")) {
        throw new ConfigException(source + " has weights but no model configuration (a Keras save_weights file): save the whole model "
            + "with model.save(\"model.h5\") to import it");
      }
      model = new ObjectMapper().readTree(archive.readAttributeAsJson("model_config"));
      kerasVersion = archive.hasAttribute("keras_version") ? archive.readAttributeAsString("keras_version") : "unknown";
      backend = archive.hasAttribute("backend") ? archive.readAttributeAsString("backend") : "unknown";
    } catch (ConfigException e) {
      throw e;
    } catch (Exception e) {
      throw new ConfigException(source + " is not a readable Keras model: " + firstLine(e));
    }
    String modelClass = model.path("class_name").asText();
    JsonNode config = model.path("config");
    JsonNode layers = config.isArray() ? config : config.path("layers");
    for (JsonNode layer : layers) {
      if (layer.path("class_name").asText().equals("Lambda")) {
        throw new ConfigException("Keras layer '" + layer.path("config").path("name").asText() + "' (Lambda) cannot be imported: a Lambda "
            + "layer is Python code the file does not hold; rebuild the model without it");
      }
    }
    boolean sequential = modelClass.equals("Sequential");
    if (!sequential && (config.path("input_layers").size() != 1 || config.path("output_layers").size() != 1)) {
      throw new ConfigException("The Keras model in " + source + " has " + config.path("input_layers").size() + " inputs and "
          + config.path("output_layers").size() + " outputs; Graft imports models with one of each");
    }
    long[] shape = inputShape(layers);
    boolean channelsLast = shape.length == 3 && !channelsFirst(layers);

    List<Node> nodes = sequential ? sequential(file) : functional(file);
    for (JsonNode layer : layers) {
      String name = layer.path("config").path("name").asText();
      boolean kept = nodes.stream().anyMatch(n -> n.name.equals(name));
      layerToVertex.put(name, layer.path("class_name").asText().equals("InputLayer") ? INPUT : kept ? name : FOLDED);
    }
    head(nodes, classes);

    ComputationGraphConfiguration.GraphBuilder b = new NeuralNetConfiguration.Builder().seed(seed).dataType(DataType.FLOAT)
        .updater(new Adam(1e-3)).weightInit(WeightInit.XAVIER).graphBuilder().addInputs(INPUT);
    String first = input(b, shape, channelsLast, spec);
    for (Node n : nodes) {
      String[] ins = n.inputs.stream().map(i -> i.equals(INPUT) ? first : i).toArray(String[]::new);
      if (n.conf instanceof Layer l) {
        l.setLayerName(n.name);
        if (l instanceof BaseLayer base) {
          base.setIUpdater(null);
          base.setBiasUpdater(null);
        }
        b.addLayer(n.name, l, n.pre, ins);
      } else {
        b.addVertex(n.name, (GraphVertex) n.conf, ins);
      }
    }
    long flat = Arrays.stream(shape).reduce(1, (x, y) -> x * y);
    b.setOutputs(nodes.get(nodes.size() - 1).name).setInputTypes(InputType.feedForward(flat));
    ComputationGraph graph;
    try {
      graph = new ComputationGraph(b.build());
      graph.init();
    } catch (RuntimeException e) {
      throw new ConfigException("The Keras model in " + source + " does not build as a Graft graph: " + firstLine(e));
    }
    for (Node n : nodes) {
      for (Map.Entry<String, INDArray> e : n.params.entrySet()) {
        INDArray target = graph.getVertex(n.name).paramTable(false).get(e.getKey());
        if (target == null || target.length() != e.getValue().length()) {
          throw new IllegalStateException("Parameter " + n.name + "_" + e.getKey() + ": the graph holds " + (target == null ? "none"
              : Arrays.toString(target.shape())) + ", the Keras import gives " + Arrays.toString(e.getValue().shape()));
        }
        target.assign(e.getValue().castTo(DataType.FLOAT).reshape(target.shape()));
      }
    }
    String layout = shape.length == 1 ? "feature rows" : channelsLast ? "CHW rows, permuted to the model's channels-last layout, RGB order"
        : "CHW rows, RGB order";
    return new Result(graph, layerToVertex, shape, layout, kerasVersion, backend, modelClass, notes);
  }

  /** The input vertices in front of the model's first layer; returns the name its first layer reads. */
  private String input(ComputationGraphConfiguration.GraphBuilder b, long[] shape, boolean channelsLast, InputSpec spec) {
    if (shape.length == 1) {
      if (!spec.isIdentity()) {
        throw new ConfigException("--input-scale/--mean/--std apply to image inputs; the Keras model in " + source + " reads feature rows "
            + Arrays.toString(shape));
      }
      return INPUT;
    }
    long c = channelsLast ? shape[2] : shape[0];
    long h = channelsLast ? shape[0] : shape[1];
    long w = channelsLast ? shape[1] : shape[2];
    String current = INPUT + ".chw";
    b.addVertex(current, new PreprocessorVertex(new FeedForwardToCnnPreProcessor(h, w, c)), INPUT);
    if (!spec.isIdentity()) {
      BroadcastVertex[] normalise = spec.vertices(c);
      b.addVertex(INPUT + ".scale", normalise[0], current);
      b.addVertex(INPUT + ".shift", normalise[1], INPUT + ".scale");
      current = INPUT + ".shift";
    }
    if (channelsLast) {
      b.addVertex(INPUT + ".hwc", new PreprocessorVertex(new ChannelsLastPreProcessor()), current);
      current = INPUT + ".hwc";
    }
    return current;
  }

  /** The layers of a Sequential model, in order, named as in Keras. */
  private List<Node> sequential(Path file) {
    MultiLayerNetwork net = importing(() -> KerasModelImport.importKerasSequentialModelAndWeights(file.toString(), false));
    MultiLayerConfiguration conf = net.getLayerWiseConfigurations();
    List<Node> nodes = new ArrayList<>();
    String previous = INPUT;
    for (int i = 0; i < conf.getConfs().size(); i++) {
      Layer layer = conf.getConf(i).getLayer().clone();
      String name = layer.getLayerName() != null ? layer.getLayerName() : "layer" + i;
      nodes.add(new Node(name, layer, conf.getInputPreProcess(i), List.of(previous), copy(net.getLayer(i).paramTable())));
      previous = name;
    }
    return nodes;
  }

  /** The vertices of a functional model in topological order (inputs first), its input renamed {@link #INPUT}. */
  private List<Node> functional(Path file) {
    ComputationGraph net = importing(() -> KerasModelImport.importKerasModelAndWeights(file.toString(), false));
    ComputationGraphConfiguration conf = net.getConfiguration();
    String networkInput = conf.getNetworkInputs().get(0);
    Map<String, List<String>> inputs = new HashMap<>(conf.getVertexInputs());
    Map<String, Integer> waiting = new HashMap<>();
    Map<String, List<String>> consumers = new HashMap<>();
    for (String v : conf.getVertices().keySet()) {
      List<String> ins = inputs.getOrDefault(v, List.of()).stream().filter(i -> !i.equals(networkInput)).toList();
      waiting.put(v, ins.size());
      ins.forEach(i -> consumers.computeIfAbsent(i, k -> new ArrayList<>()).add(v));
    }
    Deque<String> ready = new ArrayDeque<>();
    waiting.forEach((v, n) -> {
      if (n == 0) {
        ready.add(v);
      }
    });
    List<Node> nodes = new ArrayList<>();
    while (!ready.isEmpty()) {
      String v = ready.poll();
      GraphVertex vertex = conf.getVertices().get(v);
      List<String> ins = inputs.getOrDefault(v, List.of()).stream().map(i -> i.equals(networkInput) ? INPUT : i).toList();
      Map<String, INDArray> params = copy(net.getVertex(v).paramTable(false));
      if (vertex instanceof LayerVertex lv) {
        nodes.add(new Node(v, lv.getLayerConf().getLayer().clone(), lv.getPreProcessor(), ins, params));
      } else {
        nodes.add(new Node(v, vertex.clone(), null, ins, params));
      }
      for (String next : consumers.getOrDefault(v, List.of())) {
        if (waiting.merge(next, -1, Integer::sum) == 0) {
          ready.add(next);
        }
      }
    }
    String output = conf.getNetworkOutputs().get(0);
    if (!nodes.get(nodes.size() - 1).name.equals(output)) {
      // the output is last in any topological order of a single-output graph, unless a branch leads nowhere
      throw new ConfigException("The Keras model in " + source + " has layers that do not lead to its output '" + output + "'");
    }
    return nodes;
  }

  /** Makes the last layer Graft's output layer (see the class comment), or adds one on a trunk. */
  private void head(List<Node> nodes, Integer classes) {
    Node last = nodes.get(nodes.size() - 1);
    if (last.conf instanceof LossLayer && last.inputs.size() == 1) {
      nodes.remove(last); // DL4J's stand-in for the training loss (not a Keras layer); Graft sets the loss below
      last = nodes.get(nodes.size() - 1);
    }
    IActivation activation = null;
    if (last.conf instanceof ActivationLayer a && last.inputs.size() == 1) {
      Node before = find(nodes, last.inputs.get(0));
      if (before != null && before.conf instanceof DenseLayer && consumers(nodes, before.name) == 1) {
        activation = a.getActivationFn();
        nodes.remove(last);
        String fused = last.name;
        String into = before.name;
        layerToVertex.replaceAll((k, v) -> v.equals(fused) ? into : v);
        notes.add("the Activation layer '" + fused + "' (" + activation + ") is folded into the output layer '" + into + "'");
        last = before;
      }
    }
    if (!(last.conf instanceof DenseLayer || last.conf instanceof BaseOutputLayer)) {
      if (classes == null) {
        throw new ConfigException("The Keras model in " + source + " ends in " + kind(last) + " '" + last.name + "', not a classifier: give "
            + "--classes N to put a new, untrained N-class softmax layer on it (graft finetune trains it)");
      }
      OutputLayer added = new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(classes).activation(new ActivationSoftmax())
          .weightInit(WeightInit.XAVIER).build();
      nodes.add(new Node("output", added, null, List.of(last.name), Map.of()));
      notes.add("the model ends in " + kind(last) + " '" + last.name + "': Graft put a new " + classes
          + "-class softmax layer 'output' on it, untrained");
      return;
    }
    if (classes != null) {
      throw new ConfigException("--classes is for a Keras model without a classifier at its end; the one in " + source + " ends in "
          + kind(last) + " '" + last.name + "' (graft finetune replaces it for new classes)");
    }
    org.deeplearning4j.nn.conf.layers.FeedForwardLayer dense = (org.deeplearning4j.nn.conf.layers.FeedForwardLayer) last.conf;
    if (activation == null) {
      activation = ((BaseLayer) dense).getActivationFn();
    }
    long nIn = dense.getNIn();
    long nOut = dense.getNOut();
    boolean bias = !(dense instanceof DenseLayer d) || d.hasBias();
    OutputLayer.Builder out = new OutputLayer.Builder().nIn(nIn).hasBias(bias);
    if (activation instanceof ActivationSoftmax) {
      out.nOut(nOut).activation(new ActivationSoftmax()).lossFunction(LossFunctions.LossFunction.MCXENT);
    } else if (activation instanceof ActivationSigmoid && nOut == 1) {
      // σ(z) = softmax([0, z])₁: two classes, the first with zero weights
      out.nOut(2).activation(new ActivationSoftmax()).lossFunction(LossFunctions.LossFunction.MCXENT);
      INDArray w = last.params.get("W");
      INDArray two = Nd4j.zeros(w.dataType(), nIn, 2);
      two.getColumn(1).assign(w.reshape(nIn));
      Map<String, INDArray> params = new HashMap<>(last.params);
      params.put("W", two);
      if (bias) {
        INDArray b = Nd4j.zeros(w.dataType(), 1, 2);
        b.putScalar(1, last.params.get("b").getDouble(0));
        params.put("b", b);
      }
      last.params = params;
      notes.add("the output '" + last.name + "' is one sigmoid unit; in Graft it is the equivalent two-class softmax (class 1 = the "
          + "sigmoid's positive class, same probabilities)");
    } else if (activation instanceof ActivationSigmoid) {
      out.nOut(nOut).activation(new ActivationSigmoid()).lossFunction(LossFunctions.LossFunction.XENT);
      notes.add("the output '" + last.name + "' is " + nOut + " independent sigmoid units (multi-label), kept with binary cross-entropy");
    } else if (activation instanceof ActivationIdentity && nOut == 1) {
      out.nOut(1).activation(new ActivationIdentity()).lossFunction(LossFunctions.LossFunction.MSE);
      notes.add("the output '" + last.name + "' is one linear unit (a regression), kept with squared error; graft finetune puts a "
          + "classifier in its place");
    } else if (activation instanceof ActivationIdentity) {
      out.nOut(nOut).activation(new ActivationSoftmax()).lossFunction(LossFunctions.LossFunction.MCXENT);
      notes.add("the output '" + last.name + "' gives logits in the source; in Graft it applies softmax (same ranking, trainable with "
          + "cross-entropy)");
    } else {
      throw new ConfigException("The Keras model's output layer '" + last.name + "' has activation " + activation
          + "; Graft imports softmax, sigmoid or linear outputs");
    }
    last.conf = out.build();
  }

  private static Node find(List<Node> nodes, String name) {
    return nodes.stream().filter(n -> n.name.equals(name)).findFirst().orElse(null);
  }

  private static long consumers(List<Node> nodes, String name) {
    return nodes.stream().filter(n -> n.inputs.contains(name)).count();
  }

  private static String kind(Node n) {
    return n.conf instanceof Layer l ? l.getClass().getSimpleName() : n.conf.getClass().getSimpleName();
  }

  /** The model's input shape without the batch: [features] or an image's three dimensions, all fixed. */
  private long[] inputShape(JsonNode layers) {
    JsonNode shape = null;
    for (JsonNode layer : layers) {
      JsonNode c = layer.path("config");
      shape = c.has("batch_input_shape") ? c.get("batch_input_shape") : c.get("batch_shape");
      if (shape != null) {
        break;
      }
    }
    if (shape == null || !shape.isArray()) {
      throw new ConfigException("The Keras model in " + source + " names no input shape (batch_input_shape); build it with a fixed input");
    }
    long[] dims = new long[shape.size() - 1];
    for (int i = 1; i < shape.size(); i++) {
      if (!shape.get(i).canConvertToLong()) {
        throw new ConfigException("The Keras model in " + source + " has input shape " + shape + "; build it with a fixed size in every "
            + "dimension but the batch");
      }
      dims[i - 1] = shape.get(i).asLong();
    }
    if (dims.length != 1 && dims.length != 3) {
      throw new ConfigException("The Keras model in " + source + " has input shape " + shape + "; Graft imports images (height, width, "
          + "channels) or feature rows");
    }
    return dims;
  }

  /** Whether the model's image layers are channels_first (Keras's default is channels_last). */
  private static boolean channelsFirst(JsonNode layers) {
    for (JsonNode layer : layers) {
      String format = layer.path("config").path("data_format").asText("");
      if (!format.isEmpty()) {
        return format.equals("channels_first");
      }
    }
    return false;
  }

  private void checkHdf5(Path file) {
    byte[] head = new byte[8];
    int n;
    try (InputStream in = Files.newInputStream(file)) {
      n = in.readNBytes(head, 0, head.length);
    } catch (IOException e) {
      throw new ConfigException(source + " cannot be read: " + e.getMessage());
    }
    if (n >= 2 && head[0] == 'P' && head[1] == 'K') {
      throw new ConfigException(source + " is a zip archive (a Keras 3 .keras file?), not HDF5: save the model as HDF5 with "
          + "model.save(\"model.h5\")");
    }
    if (n < head.length || !Arrays.equals(head, HDF5_SIGNATURE)) {
      throw new ConfigException(source + " is not an HDF5 file (a Keras model saved with model.save(\"model.h5\"))");
    }
  }

  private interface Importing<T> {
    T get() throws Exception;
  }

  private <T> T importing(Importing<T> body) {
    try {
      return body.get();
    } catch (UnsupportedKerasConfigurationException | InvalidKerasConfigurationException e) {
      throw new ConfigException("DL4J's Keras import cannot read " + source + ": " + firstLine(e));
    } catch (ConfigException e) {
      throw e;
    } catch (Exception e) {
      throw new ConfigException(source + " is not a readable Keras model: " + firstLine(e));
    }
  }

  private static Map<String, INDArray> copy(Map<String, INDArray> params) {
    Map<String, INDArray> out = new LinkedHashMap<>();
    params.forEach((k, v) -> out.put(k, v.dup()));
    return out;
  }

  private static String firstLine(Throwable e) {
    String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    m = m.lines().findFirst().orElse(m).strip();
    for (String tail : List.of(". Please file an issue", ". For more information")) {
      int i = m.indexOf(tail);
      if (i > 0) {
        m = m.substring(0, i);
      }
    }
    return m;
  }
}

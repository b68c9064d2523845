package io.graft.surgery;

import io.graft.config.ConfigException;
import io.graft.store.Storage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.FrozenVertex;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.graph.PreprocessorVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;

/**
 * What Graft reads from a DL4J {@code ComputationGraph} that {@link Surgery} reads from a
 * {@code MultiLayerNetwork}: loading a model zip of either kind, its vertices as {@code graft
 * inspect} shows them, its input width and its class count.
 */
public final class Graphs {
  private Graphs() {}

  /** One vertex as {@code graft inspect} shows it: what feeds it, its output shape, its parameters. */
  public record VertexInfo(int index, String name, String type, List<String> inputs, String shape, long parameters, boolean frozen) {}

  /**
   * Loads a Graft model folder ({@code model.zip} inside) or a DL4J zip as whichever network it
   * holds, or builds a {@link Zoo} architecture ({@code zoo:resnet50}).
   *
   * @throws ConfigException naming the path when it is missing or holds neither kind
   */
  public static Model load(Storage storage, String uri) {
    if (Zoo.isZoo(uri)) {
      return Zoo.build(uri);
    }
    Path path = storage.path(uri);
    try {
      if (!storage.exists(path)) {
        throw new ConfigException("Model not found: " + uri);
      }
      Path zip = storage.status(path).isDirectory() ? new Path(path, "model.zip") : path;
      if (!storage.exists(zip)) {
        throw new ConfigException("Model folder " + uri + " has no model.zip");
      }
      if (isGraph(storage, zip)) {
        try (InputStream in = storage.open(zip)) {
          return ModelSerializer.restoreComputationGraph(in, false);
        }
      }
      return Surgery.load(storage, uri).network();
    } catch (IOException | RuntimeException e) {
      if (e instanceof ConfigException c) {
        throw c;
      }
      throw new ConfigException("Cannot load model " + uri + " (" + (e.getMessage() == null ? e.getClass().getSimpleName()
          : e.getMessage().lines().findFirst().orElse("")) + ")");
    }
  }

  /** Whether a model folder or zip holds a ComputationGraph (false when it is missing: the loader names that). */
  public static boolean isGraphModel(Storage storage, String uri) {
    if (Zoo.isZoo(uri)) {
      return true;
    }
    try {
      Path path = storage.path(uri);
      if (!storage.exists(path)) {
        return false;
      }
      Path zip = storage.status(path).isDirectory() ? new Path(path, "model.zip") : path;
      return storage.exists(zip) && isGraph(storage, zip);
    } catch (IOException e) {
      return false;
    }
  }

  /** The {@code provenance.json} beside a model folder's zip, or null. */
  public static String provenance(Storage storage, String uri) throws IOException {
    if (Zoo.isZoo(uri)) {
      return null;
    }
    Path path = storage.path(uri);
    if (storage.exists(path) && storage.status(path).isDirectory() && storage.exists(new Path(path, "provenance.json"))) {
      return storage.readString(new Path(path, "provenance.json"));
    }
    return null;
  }

  /** Whether a DL4J model zip holds a ComputationGraph (its configuration lists vertices, not layer confs). */
  static boolean isGraph(Storage storage, Path zip) throws IOException {
    try (InputStream in = storage.open(zip); ZipInputStream z = new ZipInputStream(in)) {
      for (ZipEntry e = z.getNextEntry(); e != null; e = z.getNextEntry()) {
        if (e.getName().equals("configuration.json")) {
          String json = new String(z.readAllBytes(), StandardCharsets.UTF_8);
          return json.contains("\"vertices\"") && json.contains("\"networkInputs\"");
        }
      }
    }
    return false;
  }

  /** The vertices in topological order, inputs left out. */
  public static List<VertexInfo> describe(ComputationGraph graph) {
    ComputationGraphConfiguration conf = graph.getConfiguration();
    InputType input = inputType(conf);
    Map<String, InputType> shapes = input == null ? Map.of() : conf.getLayerActivationTypes(input);
    List<VertexInfo> out = new ArrayList<>();
    for (String name : conf.getTopologicalOrderStr()) {
      if (conf.getNetworkInputs().contains(name)) {
        continue;
      }
      GraphVertex v = conf.getVertices().get(name);
      Layer layer = v instanceof LayerVertex lv ? lv.getLayerConf().getLayer() : null;
      Layer inner = layer == null ? null : Surgery.inner(layer);
      boolean frozen = inner != layer;
      long params = graph.getVertex(name).hasLayer() ? graph.getVertex(name).getLayer().numParams() : 0;
      InputType shape = shapes.get(name);
      String dims = shape == null ? "?" : Arrays.stream(shape.getShape(false)).mapToObj(Long::toString).collect(Collectors.joining("x"));
      out.add(new VertexInfo(out.size(), name, inner == null ? v.getClass().getSimpleName() : inner.getClass().getSimpleName(),
          conf.getVertexInputs().getOrDefault(name, List.of()), dims, params, frozen));
    }
    return out;
  }

  /** The input width a graph expects (height x width x channels for images), or -1 when its configuration does not say. */
  public static long inputSize(ComputationGraph graph) {
    InputType t = inputType(graph.getConfiguration());
    return t == null ? -1 : t.arrayElementsPerExample();
  }

  /**
   * A single-input graph's input type, as its first layer or vertex reveals it (a saved configuration
   * does not keep the builder's input types): flat images when it reshapes flat rows to images,
   * flat vectors of the first dense layer's width; null otherwise.
   */
  static InputType inputType(ComputationGraphConfiguration conf) {
    if (conf.getNetworkInputs().size() != 1) {
      return null;
    }
    String input = conf.getNetworkInputs().get(0);
    for (Map.Entry<String, List<String>> e : conf.getVertexInputs().entrySet()) {
      GraphVertex first = conf.getVertices().get(e.getKey());
      if (first instanceof FrozenVertex f) {
        first = f.getUnderlying(); // a fine-tuning stage's frozen copy
      }
      if (e.getValue().contains(input) && first instanceof PreprocessorVertex pv
          && pv.getPreProcessor() instanceof FeedForwardToCnnPreProcessor p) { // an imported model's reshape to images
        return InputType.convolutionalFlat(p.getInputHeight(), p.getInputWidth(), p.getNumChannels());
      }
      if (e.getValue().contains(input) && conf.getVertices().get(e.getKey()) instanceof LayerVertex lv) {
        if (lv.getPreProcessor() instanceof FeedForwardToCnnPreProcessor p) {
          return InputType.convolutionalFlat(p.getInputHeight(), p.getInputWidth(), p.getNumChannels());
        }
        if (Surgery.inner(lv.getLayerConf().getLayer()) instanceof FeedForwardLayer ff && ff.getNIn() > 0) {
          return InputType.feedForward(ff.getNIn());
        }
      }
    }
    return null;
  }

  /**
   * A layer stack as a ComputationGraph computing the same function: input vertex {@code input},
   * then each layer under its own name reading the one below (with the stack's input
   * preprocessors), weights copied.
   */
  public static ComputationGraph fromStack(MultiLayerNetwork net) {
    MultiLayerConfiguration conf = net.getLayerWiseConfigurations();
    ComputationGraphConfiguration.GraphBuilder b = new NeuralNetConfiguration.Builder().seed(conf.getConf(0).getSeed())
        .dataType(conf.getDataType()).trainingWorkspaceMode(conf.getTrainingWorkspaceMode())
        .inferenceWorkspaceMode(conf.getInferenceWorkspaceMode()).graphBuilder().addInputs("input");
    List<String> names = Surgery.layerNames(net);
    String below = "input";
    for (int i = 0; i < names.size(); i++) {
      ConfigException.require(!names.get(i).equals("input") && names.indexOf(names.get(i)) == i,
          "Cannot turn %s into a graph: layer name '%s' is taken", "the model", names.get(i));
      InputPreProcessor pre = conf.getInputPreProcess(i);
      b.addLayer(names.get(i), conf.getConf(i).getLayer().clone(), pre == null ? null : pre.clone(), below);
      below = names.get(i);
    }
    b.setOutputs(below);
    ComputationGraph g = new ComputationGraph(b.build());
    g.init();
    for (int i = 0; i < names.size(); i++) {
      if (net.getLayer(i).numParams() > 0) {
        g.getLayer(names.get(i)).setParams(net.getLayer(i).params().dup());
      }
    }
    return g;
  }

  /** How many classes a network's (first) output layer predicts. */
  public static int numClasses(Model model) {
    org.deeplearning4j.nn.api.Layer out = model instanceof ComputationGraph g ? g.getOutputLayer(0) : ((MultiLayerNetwork) model).getOutputLayer();
    return (int) ((BaseOutputLayer) out.conf().getLayer()).getNOut();
  }
}

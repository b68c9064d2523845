package io.graft.adapt;

import io.graft.config.ConfigException;
import io.graft.config.OptimizerConfig;
import io.graft.model.Architectures;
import io.graft.model.ModelConfig;
import io.graft.store.Storage;
import io.graft.surgery.GraphSurgery;
import io.graft.surgery.Graphs;
import io.graft.surgery.Surgery;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.transferlearning.FineTuneConfiguration;
import org.deeplearning4j.nn.transferlearning.TransferLearning;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.regularization.L2Regularization;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.learning.regularization.WeightDecay;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;

/**
 * A shared trunk with one head per objective, as one DL4J {@link ComputationGraph}: the graph the
 * multi-task and domain-adversarial stages train. The trunk is every vertex of a network but its
 * output layer: a {@link MultiLayerNetwork} (an {@code mlp} or {@code lenet} built fresh, or a
 * pretrained layer stack whose weights are copied in) or a {@link ComputationGraph} (the
 * {@code resnet} architecture, or any pretrained single-output graph: an imported PyTorch model,
 * another Graft job's output), its vertices and weights kept. Each head is an optional hidden
 * dense layer and a softmax output, optionally behind a {@link GradientReversal} layer, reading
 * what the source's output layer read.
 *
 * <p>Graph vertex names: a layer stack's input is {@code input} and its layers keep their names;
 * a graph keeps all of its names; a head {@code h} is {@code h} (output), {@code hHidden} and
 * {@code hReversal}. The graph's outputs are the heads in the order given, so minibatch label
 * arrays follow that order.
 */
public final class SharedTrunk {
  public static final String INPUT = "input";

  private SharedTrunk() {}

  /**
   * One head on the trunk.
   *
   * @param name the head's output layer name (a task name, {@code label} or {@code domain})
   * @param numClasses its softmax width
   * @param hidden width of a ReLU dense layer below the output, 0 for none
   * @param reversed whether a gradient-reversal layer sits between the trunk and the head
   */
  public record Head(String name, int numClasses, int hidden, boolean reversed) {
    public Head {
      ConfigException.require(name != null && name.matches("[A-Za-z][A-Za-z0-9-]*"),
          "A head name must be a letter followed by letters, digits or '-', cannot be: %s", name);
      ConfigException.require(numClasses >= 2, "Head '%s' needs at least 2 classes, cannot have: %s", name, numClasses);
      ConfigException.require(hidden >= 0, "Head '%s' hidden width must be non-negative, cannot be: %s", name, hidden);
    }

    String hiddenName() {
      return name + "Hidden";
    }

    String reversalName() {
      return name + "Reversal";
    }
  }

  /** The input type of a trunk on features of {@code featureShape}: images for CNN trunks, flat otherwise. */
  public static InputType inputType(MultiLayerNetwork trunkSource, int[] featureShape) {
    return inputType(trunkSource.getLayerWiseConfigurations().getConf(0).getLayer(), featureShape);
  }

  private static InputType inputType(Layer first, int[] featureShape) {
    if (first instanceof ConvolutionLayer) {
      int[] hwc = Architectures.imageShape(featureShape);
      return InputType.convolutionalFlat(hwc[0], hwc[1], hwc[2]);
    }
    return InputType.feedForward(Arrays.stream(featureShape).reduce(1, (a, b) -> a * b));
  }

  /**
   * Builds the graph: the layers of {@code source} below its output layer, then the heads.
   *
   * @param copyWeights copy the trunk's weights from {@code source} (a pretrained trunk) rather
   *     than initialising them from {@code seed}
   */
  public static ComputationGraph build(Model source, boolean copyWeights, int[] featureShape, List<Head> heads,
      OptimizerConfig optimizer, long seed) {
    ConfigException.require(!heads.isEmpty(), "A shared trunk needs at least one head");
    return source instanceof ComputationGraph g ? build(g, heads, optimizer, seed)
        : build((MultiLayerNetwork) source, copyWeights, featureShape, heads, optimizer, seed);
  }

  private static ComputationGraph build(MultiLayerNetwork source, boolean copyWeights, int[] featureShape, List<Head> heads,
      OptimizerConfig optimizer, long seed) {
    List<NeuralNetConfiguration> confs = source.getLayerWiseConfigurations().getConfs();
    ConfigException.require(confs.size() >= 2 && confs.get(confs.size() - 1).getLayer() instanceof BaseOutputLayer,
        "The trunk's source model must end in an output layer (it is dropped and replaced by the heads)");
    List<String> trunk = new ArrayList<>();
    Set<String> names = new LinkedHashSet<>();
    for (int i = 0; i < confs.size() - 1; i++) {
      String name = confs.get(i).getLayer().getLayerName();
      ConfigException.require(names.add(name), "The trunk has two layers named '%s'", name);
      trunk.add(name);
    }
    requireFreeNames(heads, names);

    NeuralNetConfiguration.Builder global = Architectures.baseBuilder(optimizer, seed);
    ComputationGraphConfiguration.GraphBuilder g = global.graphBuilder().addInputs(INPUT);
    String below = INPUT;
    for (int i = 0; i < trunk.size(); i++) {
      Layer layer = confs.get(i).getLayer().clone();
      retrain(layer, optimizer);
      g.addLayer(trunk.get(i), layer, below);
      below = trunk.get(i);
    }
    String features = below;
    List<String> outputs = new ArrayList<>();
    for (Head h : heads) {
      String in = features;
      if (h.reversed()) {
        g.addLayer(h.reversalName(), new GradientReversal(h.reversalName(), 0.0), in);
        in = h.reversalName();
      }
      if (h.hidden() > 0) {
        g.addLayer(h.hiddenName(), new DenseLayer.Builder().nOut(h.hidden()).activation(Activation.RELU).build(), in);
        in = h.hiddenName();
      }
      g.addLayer(h.name(), new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(h.numClasses())
          .activation(Activation.SOFTMAX).build(), in);
      outputs.add(h.name());
    }
    g.setOutputs(outputs.toArray(String[]::new));
    g.setInputTypes(inputType(source, featureShape));
    ComputationGraph graph = new ComputationGraph(g.build());
    graph.init();
    if (copyWeights) {
      for (int i = 0; i < trunk.size(); i++) {
        if (source.getLayer(i).numParams() > 0) {
          graph.getLayer(trunk.get(i)).setParams(source.getLayer(i).params().dup());
        }
      }
    }
    return graph;
  }

  private static void requireFreeNames(List<Head> heads, Set<String> names) {
    for (Head h : heads) {
      for (String n : List.of(h.name(), h.hiddenName(), h.reversalName())) {
        ConfigException.require(!names.contains(n), "Head name '%s' clashes with a layer of the trunk or another head (%s)", n,
            String.join(", ", names));
      }
      names.addAll(List.of(h.name(), h.hiddenName(), h.reversalName()));
    }
  }

  /**
   * A graph trunk: {@code source} with its output layer removed and the heads reading what it read;
   * every other vertex, name and weight kept, every layer given the stage's optimiser.
   */
  private static ComputationGraph build(ComputationGraph source, List<Head> heads, OptimizerConfig optimizer, long seed) {
    String out = GraphSurgery.outputLayer(source);
    ComputationGraphConfiguration conf = source.getConfiguration();
    List<String> below = conf.getVertexInputs().get(out);
    ConfigException.require(below.size() == 1, "The trunk's output layer '%s' reads %s vertices (%s); a shared trunk needs one", out,
        below.size(), String.join(", ", below));
    Set<String> names = new LinkedHashSet<>(conf.getTopologicalOrderStr());
    names.removeAll(conf.getNetworkInputs());
    names.remove(out);
    requireFreeNames(heads, names);
    long width = ((BaseOutputLayer) Surgery.inner(((LayerVertex) conf.getVertices().get(out)).getLayerConf().getLayer())).getNIn();
    Nd4j.getRandom().setSeed(seed);
    TransferLearning.GraphBuilder b = new TransferLearning.GraphBuilder(source)
        .fineTuneConfiguration(new FineTuneConfiguration.Builder().seed(seed).build())
        .removeVertexAndConnections(out);
    List<String> outputs = new ArrayList<>();
    for (Head h : heads) {
      String in = below.get(0);
      long nIn = width;
      // the old output's reshape of what it read (pooled images to vectors) goes to each head's first layer
      InputPreProcessor pre = GraphSurgery.inputPreProcessor(conf, out);
      if (h.reversed()) {
        b.addLayer(h.reversalName(), new GradientReversal(h.reversalName(), 0.0), pre, in);
        in = h.reversalName();
        pre = null;
      }
      if (h.hidden() > 0) {
        b.addLayer(h.hiddenName(), new DenseLayer.Builder().nIn(nIn).nOut(h.hidden()).activation(Activation.RELU)
            .weightInit(WeightInit.XAVIER).build(), pre, in);
        in = h.hiddenName();
        nIn = h.hidden();
        pre = null;
      }
      b.addLayer(h.name(), new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(nIn).nOut(h.numClasses())
          .activation(Activation.SOFTMAX).weightInit(WeightInit.XAVIER).build(), pre, in);
      outputs.add(h.name());
    }
    b.setOutputs(outputs.toArray(String[]::new));
    ComputationGraph built = b.build();
    ComputationGraphConfiguration retrained = built.getConfiguration().clone();
    for (GraphVertex v : retrained.getVertices().values()) {
      if (v instanceof LayerVertex lv) {
        retrain(lv.getLayerConf().getLayer(), optimizer);
      }
    }
    ComputationGraph graph = new ComputationGraph(retrained);
    graph.init(built.params().dup(), false);
    return graph;
  }

  /**
   * The network whose vertices below its output become the trunk: a pretrained model (a Graft
   * model folder or any DL4J zip of either kind) when {@code pretrained} is set, else {@code model}
   * built fresh ({@code resnet} as a graph, the others as layer stacks).
   *
   * @throws ConfigException when the pretrained model cannot take features of {@code featureShape}
   */
  public static Model source(Storage storage, String pretrained, ModelConfig model,
      int[] featureShape, int numClasses, OptimizerConfig optimizer, long seed) {
    int numFeatures = Arrays.stream(featureShape).reduce(1, (a, b) -> a * b);
    if (pretrained != null) {
      Model loaded = Graphs.load(storage, pretrained);
      if (loaded instanceof ComputationGraph g) {
        long in = Graphs.inputSize(g);
        ConfigException.require(in == numFeatures, "Pretrained model %s takes %s features, the data have %s", pretrained,
            in < 0 ? "an input of unknown width" : in, numFeatures);
        GraphSurgery.outputLayer(g);
        return GraphSurgery.unfrozen(g);
      }
      MultiLayerNetwork net = Surgery.unfrozen((MultiLayerNetwork) loaded);
      long in = Surgery.inputSize(net);
      ConfigException.require(in == numFeatures, "Pretrained model %s takes %s features, the data have %s", pretrained, in, numFeatures);
      return net;
    }
    if (model.architecture() == ModelConfig.Architecture.RESNET) {
      ComputationGraph graph = new ComputationGraph(Architectures.resnet(model, featureShape, numClasses, optimizer, seed));
      graph.init();
      return graph;
    }
    MultiLayerNetwork net = new MultiLayerNetwork(Architectures.build(model, featureShape, numClasses, optimizer, seed));
    net.init();
    return net;
  }

  /** The trunk's layer names, bottom to top (the graph's layers before the first head layer). */
  public static List<String> trunkLayers(ComputationGraph graph) {
    List<String> out = new ArrayList<>();
    Set<String> headLayers = headVertices(graph);
    for (int idx : graph.topologicalSortOrder()) {
      var v = graph.getVertices()[idx];
      if (!v.isInputVertex() && v.hasLayer() && !headLayers.contains(v.getVertexName())) {
        out.add(v.getVertexName());
      }
    }
    return out;
  }

  /**
   * One head's model on its own: the trunk plus that head, with the graph's weights (what
   * {@code graft finetune}, {@code evaluate} and plain DL4J load). A layer-stack trunk gives a
   * plain {@link MultiLayerNetwork}; any other trunk (residual blocks, an imported graph) a
   * single-output {@link ComputationGraph}. A gradient-reversal layer, the identity at inference,
   * is left out.
   */
  public static Model export(ComputationGraph graph, String head, int[] featureShape) {
    List<String> outputs = graph.getConfiguration().getNetworkOutputs();
    if (!outputs.contains(head)) {
      throw new ConfigException("Cannot export head '" + head + "': the model's heads are " + String.join(", ", outputs));
    }
    return isLayerStack(graph) ? exportStack(graph, head, featureShape) : exportGraph(graph, head);
  }

  /** Whether the trunk is a chain of layers from the input, as {@link #build} makes of a layer stack. */
  static boolean isLayerStack(ComputationGraph graph) {
    ComputationGraphConfiguration conf = graph.getConfiguration();
    String below = INPUT;
    if (!conf.getNetworkInputs().equals(List.of(INPUT))) {
      return false;
    }
    for (String layer : trunkLayers(graph)) {
      if (!conf.getVertexInputs().get(layer).equals(List.of(below))) {
        return false;
      }
      below = layer;
    }
    Set<String> heads = headVertices(graph);
    for (String v : conf.getVertices().keySet()) {
      if (!heads.contains(v) && !(conf.getVertices().get(v) instanceof LayerVertex)) {
        return false;
      }
    }
    return true;
  }

  private static Set<String> headVertices(ComputationGraph graph) {
    Set<String> headLayers = new LinkedHashSet<>();
    for (String o : graph.getConfiguration().getNetworkOutputs()) {
      headLayers.add(o);
      headLayers.add(o + "Hidden");
      headLayers.add(o + "Reversal");
    }
    return headLayers;
  }

  /** The trunk with one head as a graph: every head's vertices removed, the chosen head's layers added back below no reversal. */
  private static ComputationGraph exportGraph(ComputationGraph graph, String head) {
    ComputationGraphConfiguration conf = graph.getConfiguration();
    Set<String> heads = headVertices(graph);
    String first = conf.getVertices().containsKey(head + "Reversal") ? head + "Reversal"
        : conf.getVertices().containsKey(head + "Hidden") ? head + "Hidden" : head;
    String features = conf.getVertexInputs().get(first).get(0);
    TransferLearning.GraphBuilder b = new TransferLearning.GraphBuilder(graph);
    for (String v : heads) {
      if (conf.getVertices().containsKey(v)) {
        b.removeVertexAndConnections(v);
      }
    }
    List<String> kept = new ArrayList<>();
    String in = features;
    InputPreProcessor pre = GraphSurgery.inputPreProcessor(conf, first);
    for (String v : List.of(head + "Hidden", head)) {
      if (conf.getVertices().containsKey(v)) {
        Layer l = graph.getLayer(v).conf().getLayer().clone();
        if (l instanceof BaseOutputLayer out && out.getLossFn() instanceof LossMCXENT) {
          out.setLossFn(new LossMCXENT()); // drop multi-task loss weights
        }
        InputPreProcessor own = GraphSurgery.inputPreProcessor(conf, v);
        b.addLayer(v, l, own != null ? own : pre, in);
        pre = null;
        kept.add(v);
        in = v;
      }
    }
    b.setOutputs(head);
    ComputationGraph out = b.build();
    for (String v : kept) {
      out.getLayer(v).setParams(graph.getLayer(v).params().dup());
    }
    return out;
  }

  private static MultiLayerNetwork exportStack(ComputationGraph graph, String head, int[] featureShape) {
    List<String> layers = new ArrayList<>(trunkLayers(graph));
    if (graph.getConfiguration().getVertices().containsKey(head + "Hidden")) {
      layers.add(head + "Hidden");
    }
    layers.add(head);
    NeuralNetConfiguration.ListBuilder list = new NeuralNetConfiguration.Builder()
        .trainingWorkspaceMode(WorkspaceMode.ENABLED).inferenceWorkspaceMode(WorkspaceMode.ENABLED).list();
    for (int i = 0; i < layers.size(); i++) {
      Layer l = graph.getLayer(layers.get(i)).conf().getLayer().clone();
      l.setLayerName(layers.get(i));
      if (l instanceof BaseOutputLayer out && out.getLossFn() instanceof LossMCXENT) {
        out.setLossFn(new LossMCXENT()); // drop multi-task loss weights
      }
      list.layer(i, l);
    }
    InputType type = inputType(graph.getLayer(layers.get(0)).conf().getLayer(), featureShape);
    list.setInputType(type);
    MultiLayerConfiguration conf = list.build();
    MultiLayerNetwork net = new MultiLayerNetwork(conf);
    net.init();
    for (int i = 0; i < layers.size(); i++) {
      if (net.getLayer(i).numParams() > 0) {
        net.getLayer(i).setParams(graph.getLayer(layers.get(i)).params().dup());
      }
    }
    return net;
  }

  /** Gives a copied trunk layer the stage's optimiser and regularisation instead of its source's. */
  private static void retrain(Layer layer, OptimizerConfig optimizer) {
    if (layer instanceof BaseLayer b) {
      b.setIUpdater(optimizer.toUpdater());
      b.setBiasUpdater(null);
      List<Regularization> reg = new ArrayList<>();
      if (optimizer.l2() > 0) {
        reg.add(new L2Regularization(optimizer.l2()));
      }
      if (optimizer.weightDecay() > 0) {
        reg.add(new WeightDecay(optimizer.weightDecay(), true));
      }
      b.setRegularization(reg);
      b.setRegularizationBias(new ArrayList<>());
    }
  }
}

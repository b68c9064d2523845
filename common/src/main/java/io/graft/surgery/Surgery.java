package io.graft.surgery;

import io.graft.config.ConfigException;
import io.graft.selfsup.NtXentLoss;
import io.graft.store.Storage;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayerWithBackprop;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.transferlearning.FineTuneConfiguration;
import org.deeplearning4j.nn.transferlearning.TransferLearning;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * Model surgery on DL4J {@link MultiLayerNetwork}s, by layer name: a new head for the target's
 * classes, added dense layers, bottleneck adapters, and the per-stage network that freezes a
 * prefix of the layers and gives every trainable layer its own updater (discriminative rates).
 *
 * <p>Freeze semantics: a frozen layer is wrapped in DL4J's {@code FrozenLayer} (no gradient, no
 * update, no weight decay, inference-mode forward pass, so BatchNorm inside a frozen part uses
 * and keeps its running statistics). Frozen layers above the lowest trainable layer (between two
 * adapters) use {@code FrozenLayerWithBackprop} so gradients reach the adapters below them.
 * With {@code freezeBatchNorm=false}, BatchNorm layers are left trainable inside frozen parts.
 */
public final class Surgery {
  private Surgery() {}

  /** A loaded source model and, when it came from a Graft output folder, its provenance JSON. */
  public record Source(String uri, MultiLayerNetwork network, String provenanceJson) {}

  /** One layer as {@code graft inspect} shows it. */
  public record LayerInfo(int index, String name, String type, String shape, long parameters, boolean frozen) {}

  /** A dense layer to add below the new output layer. */
  public record AddedLayer(String name, int width, String activation) {}

  /**
   * Loads a Graft model folder ({@code model.zip} inside) or any DL4J MultiLayerNetwork zip.
   *
   * @throws ConfigException naming the path when it is missing or not a MultiLayerNetwork
   */
  public static Source load(Storage storage, String uri) {
    Path path = storage.path(uri);
    try {
      if (!storage.exists(path)) {
        throw new ConfigException("Source model not found: " + uri);
      }
      Path zip = path;
      String provenance = null;
      if (storage.status(path).isDirectory()) {
        zip = new Path(path, "model.zip");
        if (!storage.exists(zip)) {
          throw new ConfigException("Source model folder " + uri + " has no model.zip");
        }
        Path prov = new Path(path, "provenance.json");
        if (storage.exists(prov)) {
          provenance = storage.readString(prov);
        }
      }
      try (InputStream in = storage.open(zip)) {
        return new Source(uri, ModelSerializer.restoreMultiLayerNetwork(in, false), provenance);
      } catch (RuntimeException | IOException e) {
        throw new ConfigException("Cannot load source model " + zip + " as a DL4J MultiLayerNetwork ("
            + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().lines().findFirst().orElse("")) + ")"
            + "; ComputationGraph sources are not supported yet");
      }
    } catch (IOException e) {
      throw new ConfigException("Cannot read source model " + uri + ": " + e.getMessage(), e);
    }
  }

  public static List<String> layerNames(MultiLayerNetwork net) {
    List<String> names = new ArrayList<>();
    for (NeuralNetConfiguration c : net.getLayerWiseConfigurations().getConfs()) {
      names.add(inner(c.getLayer()).getLayerName());
    }
    return names;
  }

  /** The index of the named layer, or an error listing the layers. */
  public static int indexOf(MultiLayerNetwork net, String name, String purpose) {
    List<String> names = layerNames(net);
    int i = names.indexOf(name);
    if (i < 0) {
      throw new ConfigException("Cannot " + purpose + ": layer '" + name + "' not found in model (layers: " + String.join(", ", names) + ")");
    }
    return i;
  }

  /** The layer a frozen wrapper holds, or the layer itself. */
  public static Layer inner(Layer l) {
    if (l instanceof FrozenLayer f) {
      return f.getLayer();
    }
    if (l instanceof FrozenLayerWithBackprop f) {
      return f.getUnderlying();
    }
    return l;
  }

  /**
   * A frozen layer that gradients pass through to trainable layers below it: batch norm as
   * {@link FrozenBatchNorm} (DL4J's own wrapper backpropagates batch norm's training-mode formula),
   * any other layer as DL4J's {@code FrozenLayerWithBackprop}.
   */
  public static Layer frozenWithBackprop(Layer layer) {
    Layer frozen = layer instanceof BatchNormalization ? new FrozenBatchNorm(layer) : new FrozenLayerWithBackprop(layer);
    frozen.setLayerName(layer.getLayerName());
    return frozen;
  }

  public static boolean isFrozen(Layer l) {
    return l instanceof FrozenLayer || l instanceof FrozenLayerWithBackprop;
  }

  /** Layers with their shapes, parameter counts and frozen state. */
  public static List<LayerInfo> describe(MultiLayerNetwork net) {
    List<LayerInfo> out = new ArrayList<>();
    List<NeuralNetConfiguration> confs = net.getLayerWiseConfigurations().getConfs();
    for (int i = 0; i < confs.size(); i++) {
      Layer l = confs.get(i).getLayer();
      Layer in = inner(l);
      String shape = in instanceof FeedForwardLayer ff ? ff.getNIn() + " -> " + ff.getNOut()
          : in instanceof AdapterLayer a ? a.getSize() + " -> " + a.getBottleneck() + " -> " + a.getSize() : "-";
      out.add(new LayerInfo(i, in.getLayerName(), in.getClass().getSimpleName(), shape, net.getLayer(i).numParams(), isFrozen(l)));
    }
    return out;
  }

  /** Number of inputs the network takes (flat feature count). */
  public static long inputSize(MultiLayerNetwork net) {
    InputPreProcessor p = net.getLayerWiseConfigurations().getInputPreProcess(0);
    if (p instanceof FeedForwardToCnnPreProcessor f) {
      return f.getInputHeight() * f.getInputWidth() * f.getNumChannels();
    }
    Layer first = inner(net.getLayerWiseConfigurations().getConf(0).getLayer());
    if (first instanceof FeedForwardLayer ff) {
      return ff.getNIn();
    }
    return -1;
  }

  /**
   * The layers of a contrastive model's projection head below its output (the {@code proj*}
   * layers directly under an output scored by {@link io.graft.selfsup.NtXentLoss}): what
   * fine-tuning drops besides the output, so the encoder's top ({@code dense1}) feeds the new
   * classifier. Empty for every other model; a reconstruction decoder is the output layer itself.
   */
  public static List<String> selfSupervisedHead(MultiLayerNetwork net) {
    return selfSupervisedHead(net.getLayerWiseConfigurations());
  }

  /** {@link #selfSupervisedHead(MultiLayerNetwork)} of a configuration (before the network exists). */
  public static List<String> selfSupervisedHead(MultiLayerConfiguration conf) {
    List<NeuralNetConfiguration> confs = conf.getConfs();
    Layer output = inner(confs.get(confs.size() - 1).getLayer());
    if (!(output instanceof BaseOutputLayer o && o.getLossFn() instanceof NtXentLoss)) {
      return List.of();
    }
    List<String> head = new ArrayList<>();
    for (int i = confs.size() - 2; i >= 1; i--) {
      String name = inner(confs.get(i).getLayer()).getLayerName();
      if (name == null || !name.startsWith("proj")) {
        break;
      }
      head.add(0, name);
    }
    return head;
  }

  /**
   * A graph's contrastive projection head: the {@code proj*} vertices, bottom to top, on the single
   * path below an output trained with {@link NtXentLoss}; empty for any other graph.
   */
  public static List<String> selfSupervisedHead(ComputationGraphConfiguration conf) {
    if (conf.getNetworkOutputs().size() != 1) {
      return List.of();
    }
    String output = conf.getNetworkOutputs().get(0);
    if (!(conf.getVertices().get(output) instanceof LayerVertex lv && inner(lv.getLayerConf().getLayer()) instanceof BaseOutputLayer o
        && o.getLossFn() instanceof NtXentLoss)) {
      return List.of();
    }
    List<String> head = new ArrayList<>();
    List<String> below = conf.getVertexInputs().get(output);
    while (below != null && below.size() == 1 && below.get(0).startsWith("proj") && conf.getVertices().get(below.get(0)) instanceof LayerVertex) {
      head.add(0, below.get(0));
      below = conf.getVertexInputs().get(below.get(0));
    }
    return head;
  }

  /**
   * A copy of {@code source} with its top {@code remove} layers (named, must be the topmost) and
   * its output layer replaced: {@code add} dense layers, then a softmax output for
   * {@code numClasses}. New layers are initialised from {@code seed}.
   */
  public static MultiLayerNetwork newHead(MultiLayerNetwork source, int numClasses, List<String> remove, List<AddedLayer> add, long seed) {
    List<String> names = layerNames(source);
    int n = names.size();
    int toRemove = 1;
    for (String r : remove) {
      int i = indexOf(source, r, "remove a layer");
      toRemove = Math.max(toRemove, n - i);
    }
    for (int i = n - toRemove; i < n - 1; i++) {
      if (!remove.contains(names.get(i))) {
        throw new ConfigException("Cannot remove layers " + remove + ": only the top layers can be removed, and '" + names.get(i)
            + "' lies between them and the output");
      }
    }
    ConfigException.require(n - toRemove >= 1, "Cannot remove every layer of the model (layers: %s)", String.join(", ", names));
    for (AddedLayer a : add) {
      ConfigException.require(!names.subList(0, n - toRemove).contains(a.name()) && !a.name().equals("output"),
          "Cannot add layer '%s': the model already has a layer of that name", a.name());
      ConfigException.require(a.width() > 0, "Added layer '%s' needs a positive width, cannot be: %s", a.name(), a.width());
    }
    Layer top = inner(source.getLayerWiseConfigurations().getConf(n - toRemove - 1).getLayer());
    if (!(top instanceof FeedForwardLayer ff) || top instanceof ConvolutionLayer) {
      throw new ConfigException("Cannot put a dense head on layer '" + top.getLayerName() + "' (" + top.getClass().getSimpleName()
          + "); remove down to a dense layer");
    }
    long prev = ((FeedForwardLayer) top).getNOut();
    Nd4j.getRandom().setSeed(seed);
    TransferLearning.Builder b = new TransferLearning.Builder(source)
        .fineTuneConfiguration(new FineTuneConfiguration.Builder().seed(seed).build())
        .removeLayersFromOutput(toRemove);
    for (AddedLayer a : add) {
      b.addLayer(new DenseLayer.Builder().name(a.name()).nIn(prev).nOut(a.width()).activation(activation(a.activation()))
          .weightInit(WeightInit.XAVIER).updater(source.getLayerWiseConfigurations().getConf(0).getLayer().getUpdaterByParam("W"))
          .build());
      prev = a.width();
    }
    b.addLayer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).name("output").nIn(prev).nOut(numClasses)
        .activation(Activation.SOFTMAX).weightInit(WeightInit.XAVIER).build());
    return b.build();
  }

  static Activation activation(String name) {
    for (Activation a : Activation.values()) {
      if (a.name().equalsIgnoreCase(name == null ? "relu" : name)) {
        return a;
      }
    }
    throw new ConfigException("Unknown activation '" + name + "'");
  }

  /**
   * Inserts a zero-initialised bottleneck adapter after each named dense layer. The returned
   * network computes exactly what {@code net} computes.
   */
  public static MultiLayerNetwork insertAdapters(MultiLayerNetwork net, List<String> after, int bottleneck, long seed) {
    ConfigException.require(bottleneck >= 1, "adapter bottleneck must be at least 1, cannot be: %s", bottleneck);
    MultiLayerConfiguration conf = net.getLayerWiseConfigurations().clone();
    List<NeuralNetConfiguration> confs = conf.getConfs();
    Map<Integer, Integer> mapping = new HashMap<>();
    List<NeuralNetConfiguration> out = new ArrayList<>();
    Map<Integer, InputPreProcessor> pre = new HashMap<>();
    for (String name : after) {
      int i = indexOf(net, name, "insert an adapter");
      Layer l = inner(confs.get(i).getLayer());
      if (!(l instanceof DenseLayer)) {
        throw new ConfigException("Cannot insert an adapter after layer '" + name + "': adapters go after dense layers, and it is a "
            + l.getClass().getSimpleName());
      }
    }
    for (int i = 0; i < confs.size(); i++) {
      NeuralNetConfiguration c = confs.get(i);
      InputPreProcessor p = conf.getInputPreProcess(i);
      if (p != null) {
        pre.put(out.size(), p);
      }
      mapping.put(i, out.size());
      out.add(c);
      String name = inner(c.getLayer()).getLayerName();
      if (after.contains(name)) {
        long size = ((FeedForwardLayer) inner(c.getLayer())).getNOut();
        NeuralNetConfiguration ac = c.clone();
        ac.setLayer(new AdapterLayer("adapter_" + name, size, bottleneck));
        out.add(ac);
      }
    }
    conf.setConfs(out);
    conf.setInputPreProcessors(pre);
    Nd4j.getRandom().setSeed(seed);
    MultiLayerNetwork result = new MultiLayerNetwork(conf);
    result.init();
    for (Map.Entry<Integer, Integer> e : mapping.entrySet()) {
      if (net.getLayer(e.getKey()).numParams() > 0) {
        result.getLayer(e.getValue()).setParams(net.getLayer(e.getKey()).params().dup());
      }
    }
    return result;
  }

  /**
   * The top of {@code net} from layer {@code from} up, as its own network with the same
   * parameters (the part trained on cached features). The input preprocessor of layer
   * {@code from} becomes the new network's first.
   */
  public static MultiLayerNetwork suffix(MultiLayerNetwork net, int from) {
    MultiLayerConfiguration conf = net.getLayerWiseConfigurations().clone();
    List<NeuralNetConfiguration> confs = new ArrayList<>(conf.getConfs().subList(from, conf.getConfs().size()));
    Map<Integer, InputPreProcessor> pre = new HashMap<>();
    for (int i = from; i < net.getnLayers(); i++) {
      InputPreProcessor p = conf.getInputPreProcess(i);
      if (p != null) {
        pre.put(i - from, p);
      }
    }
    conf.setConfs(confs);
    conf.setInputPreProcessors(pre);
    MultiLayerNetwork top = new MultiLayerNetwork(conf);
    top.init();
    copyLayers(net, from, top, 0, top.getnLayers());
    return top;
  }

  /** Copies the parameters of {@code count} layers from {@code src} (from index a) to {@code dst} (from index b). */
  public static void copyLayers(MultiLayerNetwork src, int a, MultiLayerNetwork dst, int b, int count) {
    for (int i = 0; i < count; i++) {
      if (src.getLayer(a + i).numParams() > 0) {
        dst.getLayer(b + i).setParams(src.getLayer(a + i).params().dup());
      }
    }
  }

  /** A copy of {@code working} with every frozen wrapper removed (the model a stage leaves behind). */
  public static MultiLayerNetwork unfrozen(MultiLayerNetwork stage) {
    MultiLayerConfiguration conf = stage.getLayerWiseConfigurations().clone();
    for (NeuralNetConfiguration c : conf.getConfs()) {
      c.setLayer(inner(c.getLayer()));
    }
    MultiLayerNetwork net = new MultiLayerNetwork(conf);
    net.init(stage.params().dup(), false);
    return net;
  }

  /** The same architecture with fresh weights from {@code seed} (the from-scratch baseline). */
  public static MultiLayerNetwork reinitialised(MultiLayerNetwork net, long seed) {
    MultiLayerConfiguration conf = net.getLayerWiseConfigurations().clone();
    for (NeuralNetConfiguration c : conf.getConfs()) {
      c.setSeed(seed);
    }
    Nd4j.getRandom().setSeed(seed);
    MultiLayerNetwork fresh = new MultiLayerNetwork(conf);
    fresh.init();
    return fresh;
  }

  /** Indices of layers that hold parameters, bottom to top (the groups of discriminative rates). */
  public static List<Integer> parameterLayers(MultiLayerNetwork net) {
    List<Integer> out = new ArrayList<>();
    for (int i = 0; i < net.getnLayers(); i++) {
      if (net.getLayer(i).numParams() > 0) {
        out.add(i);
      }
    }
    return out;
  }

  /** Trainable and total parameter counts of a stage network. */
  public static long[] trainableAndTotal(MultiLayerNetwork net) {
    long trainable = 0;
    long total = 0;
    for (int i = 0; i < net.getnLayers(); i++) {
      long n = net.getLayer(i).numParams();
      total += n;
      if (!isFrozen(net.getLayerWiseConfigurations().getConf(i).getLayer())) {
        trainable += n;
      }
    }
    return new long[] {trainable, total};
  }
}

package io.graft.surgery;

import io.graft.config.ConfigException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.transferlearning.FineTuneConfiguration;
import org.deeplearning4j.nn.transferlearning.TransferLearning;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Trainable additions to a frozen graph that leave its function unchanged until they train:
 *
 * <ul>
 *   <li><b>LoRA</b> (Hu et al., 2021) on a dense or convolution layer {@code X}: its weight W becomes
 *       W + B·A with A of rank r and B = 0 at the start. {@code X.base} is the original layer without
 *       its activation (weights kept, frozen by the stage), {@code X.lora_a} maps the same input to r
 *       values (a dense layer, or a convolution with X's kernel, stride, padding and dilation to r
 *       channels), {@code X.lora_b} maps them to X's width (dense, or a 1x1 convolution), weights
 *       zero; {@code X.lora} adds the two; {@code X} applies X's activation to the sum (or is the sum
 *       when X had none), so every reader of X reads it unchanged. LoRA's α/r output scale is left
 *       at 1 (the learning rate sets the step).
 *   <li><b>Bottleneck adapters</b> (Houlsby et al., 2019) after any vertex {@code X}: X's output goes
 *       through a down-projection of {@code size} with ReLU and an up-projection back, zero at the
 *       start, added to X's output (1x1 convolutions on images, dense layers on vectors). The
 *       original vertex becomes {@code X.base}; {@code X.adapter.down}, {@code X.adapter.up} and
 *       {@code X} (the sum) follow, so every reader of X reads the adapted output.
 * </ul>
 *
 * <p>Every other vertex keeps its name and weights.
 */
public final class GraphInserts {
  private GraphInserts() {}

  /** The graph with its additions, and the vertices a stage that trains only them trains. */
  public record Inserted(ComputationGraph graph, List<String> trainable, long parameters) {}

  /**
   * LoRA of {@code rank} on {@code targets} (vertex or group names; each must resolve to dense or
   * convolution layers).
   *
   * @throws ConfigException naming the vertex when it is not a dense or convolution layer, or the
   *     rank is not smaller than the layer's input and output widths
   */
  public static Inserted lora(ComputationGraph graph, Collection<String> targets, int rank, long seed) {
    ConfigException.require(rank >= 1, "lora.rank must be at least 1, cannot be: %s", rank);
    ComputationGraphConfiguration conf = graph.getConfiguration();
    TransferLearning.GraphBuilder b = builder(graph, seed);
    List<String> trainable = new ArrayList<>();
    Map<String, String> baseOf = new LinkedHashMap<>();
    for (String x : targets) {
      Layer layer = layerOf(conf, x, "LoRA");
      ConfigException.require(layer instanceof DenseLayer || layer instanceof ConvolutionLayer && layer.getClass() == ConvolutionLayer.class,
          "Cannot put LoRA on '%s': it is a %s; LoRA applies to dense and convolution layers", x, layer.getClass().getSimpleName());
      requireFree(conf, x, x + ".base", x + ".lora_a", x + ".lora_b", x + ".lora");
      LayerVertex lv = (LayerVertex) conf.getVertices().get(x);
      InputPreProcessor pre = lv.getPreProcessor();
      String[] ins = conf.getVertexInputs().get(x).toArray(String[]::new);
      IActivation act = ((BaseLayer) layer).getActivationFn();
      boolean identity = act == null || act instanceof ActivationIdentity;
      Layer base = layer.clone();
      ((BaseLayer) base).setActivationFn(new ActivationIdentity());
      Layer a;
      Layer up;
      if (layer instanceof ConvolutionLayer c) {
        long in = c.getNIn() * c.getKernelSize()[0] * c.getKernelSize()[1];
        requireRank(x, rank, in, c.getNOut());
        a = new ConvolutionLayer.Builder(c.getKernelSize()).stride(c.getStride()).padding(c.getPadding()).dilation(c.getDilation())
            .convolutionMode(c.getConvolutionMode()).dataFormat(c.getCnn2dDataFormat()).nIn(c.getNIn()).nOut(rank).hasBias(false)
            .activation(Activation.IDENTITY).weightInit(WeightInit.XAVIER).build();
        up = new ConvolutionLayer.Builder(1, 1).dataFormat(c.getCnn2dDataFormat()).nIn(rank).nOut(c.getNOut()).hasBias(false)
            .activation(Activation.IDENTITY).weightInit(WeightInit.ZERO).build();
      } else {
        DenseLayer d = (DenseLayer) layer;
        requireRank(x, rank, d.getNIn(), d.getNOut());
        a = new DenseLayer.Builder().nIn(d.getNIn()).nOut(rank).hasBias(false).activation(Activation.IDENTITY).weightInit(WeightInit.XAVIER)
            .build();
        up = new DenseLayer.Builder().nIn(rank).nOut(d.getNOut()).hasBias(false).activation(Activation.IDENTITY).weightInit(WeightInit.ZERO)
            .build();
      }
      String sum = identity ? x : x + ".lora";
      b.removeVertexKeepConnections(x)
          .addLayer(x + ".base", base, pre == null ? null : pre.clone(), ins)
          .addLayer(x + ".lora_a", a, pre == null ? null : pre.clone(), ins)
          .addLayer(x + ".lora_b", up, x + ".lora_a")
          .addVertex(sum, new ElementWiseVertex(ElementWiseVertex.Op.Add), x + ".base", x + ".lora_b");
      if (!identity) {
        b.addLayer(x, new ActivationLayer.Builder().activation(act).build(), sum);
      }
      trainable.add(x + ".lora_a");
      trainable.add(x + ".lora_b");
      baseOf.put(x + ".base", x);
    }
    return built(graph, b, trainable, baseOf);
  }

  /**
   * Bottleneck adapters of {@code size} after each of {@code after} (vertex names).
   *
   * @throws ConfigException naming the vertex when it does not exist, is the output or an input
   */
  public static Inserted adapters(ComputationGraph graph, Collection<String> after, int size, long seed) {
    ConfigException.require(size >= 1, "adapters.size must be at least 1, cannot be: %s", size);
    ComputationGraphConfiguration conf = graph.getConfiguration();
    Map<String, InputType> types = types(conf);
    TransferLearning.GraphBuilder b = builder(graph, seed);
    List<String> trainable = new ArrayList<>();
    Map<String, String> baseOf = new LinkedHashMap<>();
    for (String x : after) {
      requireVertex(conf, x, "an adapter after");
      ConfigException.require(!conf.getNetworkOutputs().contains(x), "Cannot put an adapter after '%s': it is the output layer", x);
      InputType t = types.get(x);
      ConfigException.require(t != null, "Cannot put an adapter after '%s': its output shape is unknown", x);
      GraphVertex v = conf.getVertices().get(x).clone();
      String[] ins = conf.getVertexInputs().get(x).toArray(String[]::new);
      Layer down;
      Layer up;
      if (t instanceof InputType.InputTypeConvolutional c) {
        down = new ConvolutionLayer.Builder(1, 1).dataFormat(c.getFormat()).nIn(c.getChannels()).nOut(size).activation(Activation.RELU)
            .weightInit(WeightInit.RELU).build();
        up = new ConvolutionLayer.Builder(1, 1).dataFormat(c.getFormat()).nIn(size).nOut(c.getChannels()).activation(Activation.IDENTITY)
            .weightInit(WeightInit.ZERO).build();
      } else if (t instanceof InputType.InputTypeFeedForward f) {
        down = new DenseLayer.Builder().nIn(f.getSize()).nOut(size).activation(Activation.RELU).weightInit(WeightInit.RELU).build();
        up = new DenseLayer.Builder().nIn(size).nOut(f.getSize()).activation(Activation.IDENTITY).weightInit(WeightInit.ZERO).build();
      } else {
        throw new ConfigException("Cannot put an adapter after '" + x + "': its output is " + t + ", not images or vectors");
      }
      requireFree(conf, x, x + ".base", x + ".adapter.down", x + ".adapter.up");
      b.removeVertexKeepConnections(x);
      if (v instanceof LayerVertex lv) {
        b.addLayer(x + ".base", lv.getLayerConf().getLayer().clone(), lv.getPreProcessor() == null ? null : lv.getPreProcessor().clone(), ins);
      } else {
        b.addVertex(x + ".base", v, ins);
      }
      b.addLayer(x + ".adapter.down", down, x + ".base")
          .addLayer(x + ".adapter.up", up, x + ".adapter.down")
          .addVertex(x, new ElementWiseVertex(ElementWiseVertex.Op.Add), x + ".base", x + ".adapter.up");
      trainable.add(x + ".adapter.down");
      trainable.add(x + ".adapter.up");
      baseOf.put(x + ".base", x);
    }
    return built(graph, b, trainable, baseOf);
  }

  /** A builder on {@code graph} whose new layers initialise from {@code seed}. */
  private static TransferLearning.GraphBuilder builder(ComputationGraph graph, long seed) {
    Nd4j.getRandom().setSeed(seed);
    return new TransferLearning.GraphBuilder(graph).fineTuneConfiguration(new FineTuneConfiguration.Builder().seed(seed).build());
  }

  /** Every vertex of a surgery's result that a LoRA or adapter insertion added (for reports). */
  public static boolean isInserted(String vertex) {
    return vertex.endsWith(".lora_a") || vertex.endsWith(".lora_b") || vertex.endsWith(".adapter.down") || vertex.endsWith(".adapter.up");
  }

  private static Inserted built(ComputationGraph source, TransferLearning.GraphBuilder b, List<String> trainable, Map<String, String> baseOf) {
    ComputationGraph g = b.build();
    for (Map.Entry<String, String> e : baseOf.entrySet()) {
      if (source.getVertex(e.getValue()).numParams() > 0) {
        g.getVertex(e.getKey()).params().assign(source.getVertex(e.getValue()).params());
      }
    }
    long added = 0;
    for (String v : trainable) {
      if (v.endsWith(".lora_b") || v.endsWith(".adapter.up")) {
        g.getVertex(v).params().assign(0); // B = 0: the graph computes what it computed before
      }
      added += g.getVertex(v).numParams();
    }
    return new Inserted(g, List.copyOf(trainable), added);
  }

  private static Map<String, InputType> types(ComputationGraphConfiguration conf) {
    InputType input = Graphs.inputType(conf);
    return input == null ? Map.of() : conf.getLayerActivationTypes(input);
  }

  private static void requireRank(String x, int rank, long in, long out) {
    ConfigException.require(rank < Math.min(in, out), "LoRA rank %s is not smaller than layer '%s' (%s inputs, %s outputs): a rank this "
        + "large adds more parameters than the layer has; use a rank below %s", rank, x, in, out, Math.min(in, out));
  }

  private static void requireVertex(ComputationGraphConfiguration conf, String x, String purpose) {
    if (!conf.getVertices().containsKey(x) || conf.getNetworkInputs().contains(x)) {
      throw new ConfigException("Cannot put " + purpose + " '" + x + "': no such vertex (vertices: "
          + String.join(", ", withoutInputs(conf)) + ")");
    }
  }

  private static Layer layerOf(ComputationGraphConfiguration conf, String x, String purpose) {
    requireVertex(conf, x, purpose + " on");
    if (!(conf.getVertices().get(x) instanceof LayerVertex lv)) {
      throw new ConfigException("Cannot put " + purpose + " on '" + x + "': it is a " + conf.getVertices().get(x).getClass().getSimpleName()
          + ", not a layer");
    }
    return Surgery.inner(lv.getLayerConf().getLayer());
  }

  private static void requireFree(ComputationGraphConfiguration conf, String x, String... names) {
    for (String n : names) {
      ConfigException.require(!conf.getVertices().containsKey(n), "Cannot insert after '%s': the graph already has a vertex '%s'", x, n);
    }
  }

  private static List<String> withoutInputs(ComputationGraphConfiguration conf) {
    Set<String> out = new LinkedHashSet<>(conf.getTopologicalOrderStr());
    out.removeAll(conf.getNetworkInputs());
    return new ArrayList<>(out);
  }

  /**
   * The dense and convolution layers LoRA goes on by default: every one of them below the head
   * ({@code head}: the new output and added layers), adapters' own layers left out.
   */
  public static List<String> loraTargets(ComputationGraph graph, Collection<String> head) {
    List<String> out = new ArrayList<>();
    ComputationGraphConfiguration conf = graph.getConfiguration();
    for (String v : conf.getTopologicalOrderStr()) {
      if (!head.contains(v) && !isInserted(v) && conf.getVertices().get(v) instanceof LayerVertex lv) {
        Layer l = Surgery.inner(lv.getLayerConf().getLayer());
        if (!(l instanceof BaseOutputLayer) && (l instanceof DenseLayer || l.getClass() == ConvolutionLayer.class)) {
          out.add(v);
        }
      }
    }
    return out;
  }
}

package io.graft.surgery;

import io.graft.config.ConfigException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.graph.FrozenVertex;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.transferlearning.FineTuneConfiguration;
import org.deeplearning4j.nn.transferlearning.TransferLearning;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * Model surgery on DL4J {@link ComputationGraph}s, by vertex name: a new head on the graph's
 * output, parameter groups (each layer, or each stage: the vertices whose names share the part
 * before the first dot, {@code stage2.block1.conv1} in {@code stage2}, PyTorch's
 * {@code layer2.0.conv1} in {@code layer2}), and the network one fine-tuning stage trains.
 *
 * <p>A stage trains a vertex set closed under "depends on": training from vertex {@code v} (or
 * group {@code g}) trains {@code v} (every vertex of {@code g}) and every vertex that reads its
 * output, directly or not; everything else is frozen. So a cut at a merge vertex freezes both of
 * its branches, and no frozen vertex ever sits above a trainable one on a path. Frozen layers run
 * in inference mode (batch norm uses and keeps its running statistics), as in {@link Surgery}.
 */
public final class GraphSurgery {
  private GraphSurgery() {}

  /** How vertices form the parameter groups of discriminative rates and gradual unfreezing. */
  public enum Grouping {
    LAYERS,
    STAGES;

    public static Grouping parse(String s) {
      try {
        return valueOf(s.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new ConfigException("surgery.groups must be layers or stages, cannot be: " + s);
      }
    }
  }

  /** The name of the graph's one output layer. */
  public static String outputLayer(ComputationGraph graph) {
    ComputationGraphConfiguration conf = graph.getConfiguration();
    List<String> outputs = conf.getNetworkOutputs();
    if (outputs.size() != 1 || !(conf.getVertices().get(outputs.get(0)) instanceof LayerVertex lv)
        || !(Surgery.inner(lv.getLayerConf().getLayer()) instanceof BaseOutputLayer)) {
      throw new ConfigException("Cannot fine-tune a graph with outputs " + outputs
          + ": Graft replaces the head of a graph with one output layer (for a multitask model, pick a task's model folder)");
    }
    return outputs.get(0);
  }

  /**
   * The graph with its output layer replaced by dense {@code added} layers and a new softmax output
   * of {@code numClasses}, keeping the old output's name; every other weight kept.
   */
  public static ComputationGraph newHead(ComputationGraph source, int numClasses, List<Surgery.AddedLayer> added, long seed) {
    String out = outputLayer(source);
    ComputationGraphConfiguration conf = source.getConfiguration();
    List<String> below = conf.getVertexInputs().get(out);
    long width = ((BaseOutputLayer) Surgery.inner(((LayerVertex) conf.getVertices().get(out)).getLayerConf().getLayer())).getNIn();
    Nd4j.getRandom().setSeed(seed);
    TransferLearning.GraphBuilder b = new TransferLearning.GraphBuilder(source)
        .fineTuneConfiguration(new FineTuneConfiguration.Builder().seed(seed).build())
        .removeVertexAndConnections(out);
    String[] prev = below.toArray(String[]::new);
    // the old head's reshape (a zoo ResNet's pooled 2048x1x1 images to vectors) goes to the first new layer
    InputPreProcessor pre = inputPreProcessor(conf, out);
    for (Surgery.AddedLayer a : added) {
      ConfigException.require(!conf.getVertices().containsKey(a.name()), "Cannot add layer '%s': the graph already has a vertex of that name", a.name());
      b.addLayer(a.name(), new DenseLayer.Builder().nIn(width).nOut(a.width()).activation(Surgery.activation(a.activation()))
          .weightInit(WeightInit.XAVIER).build(), pre, prev);
      pre = null;
      prev = new String[] {a.name()};
      width = a.width();
    }
    b.addLayer(out, new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(width).nOut(numClasses).activation(Activation.SOFTMAX)
        .weightInit(WeightInit.XAVIER).build(), pre, prev);
    b.setOutputs(out);
    return b.build();
  }

  /**
   * The graph without {@code names}, top vertices below its output layer (each read only by the
   * output or by another removed vertex, with one input of its own): the output then reads what
   * they read, reshaped to vectors when that is an image. Every other weight kept; the output
   * layer's own weights do not survive (fine-tuning replaces it).
   *
   * @throws ConfigException naming the vertex when it is unknown, the output, an input, has several
   *     inputs or feeds a vertex that stays
   */
  public static ComputationGraph removeVertices(ComputationGraph source, List<String> names) {
    if (names.isEmpty()) {
      return source;
    }
    String out = outputLayer(source);
    ComputationGraphConfiguration conf = source.getConfiguration().clone();
    InputType inputType = Graphs.inputType(conf);
    ConfigException.require(inputType != null, "Cannot remove %s: the graph's input shape is unknown", names);
    Set<String> removed = new HashSet<>(names);
    for (String x : names) {
      if (!conf.getVertices().containsKey(x) || conf.getNetworkInputs().contains(x)) {
        throw new ConfigException("Cannot remove '" + x + "': no such vertex (vertices: "
            + String.join(", ", source.getConfiguration().getTopologicalOrderStr()) + ")");
      }
      ConfigException.require(!x.equals(out), "Cannot remove '%s': it is the output layer, which fine-tuning replaces", x);
      List<String> ins = conf.getVertexInputs().get(x);
      ConfigException.require(ins.size() == 1, "Cannot remove '%s': it reads %s vertices (%s); only a vertex with one input can be cut out", x,
          ins.size(), String.join(", ", ins));
      for (Map.Entry<String, List<String>> e : conf.getVertexInputs().entrySet()) {
        ConfigException.require(!e.getValue().contains(x) || e.getKey().equals(out) || removed.contains(e.getKey()),
            "Cannot remove '%s': '%s' reads it and stays (surgery.removeLayers takes the top vertices below the output)", x, e.getKey());
      }
    }
    for (String x : names) {
      rewire(conf, x, conf.getVertexInputs().get(x).get(0));
      conf.getVertices().remove(x);
      conf.getVertexInputs().remove(x);
    }
    String below = conf.getVertexInputs().get(out).get(0);
    InputType at = conf.getLayerActivationTypes(inputType).get(below);
    LayerVertex head = (LayerVertex) conf.getVertices().get(out);
    ((FeedForwardLayer) Surgery.inner(head.getLayerConf().getLayer())).setNIn(at.arrayElementsPerExample());
    head.setPreProcessor(at instanceof InputType.InputTypeConvolutional c
        ? new CnnToFeedForwardPreProcessor(c.getHeight(), c.getWidth(), c.getChannels(), c.getFormat()) : null);
    ComputationGraph g = new ComputationGraph(conf);
    g.init();
    for (String v : parameterVertices(g)) {
      if (!v.equals(out)) {
        g.getVertex(v).params().assign(source.getVertex(v).params());
      }
    }
    return g;
  }

  /**
   * Every vertex of {@code conf} that reads {@code from} reads {@code to} instead, and the cached
   * topological order is dropped so the edited configuration sorts itself again.
   */
  static void rewire(ComputationGraphConfiguration conf, String from, String to) {
    for (Map.Entry<String, List<String>> e : conf.getVertexInputs().entrySet()) {
      e.setValue(new ArrayList<>(e.getValue().stream().map(v -> v.equals(from) ? to : v).toList()));
    }
    conf.setTopologicalOrder(null);
    conf.setTopologicalOrderStr(null);
  }

  /** A copy of the preprocessor on layer vertex {@code name}'s input, or null. */
  public static InputPreProcessor inputPreProcessor(ComputationGraphConfiguration conf, String name) {
    return conf.getVertices().get(name) instanceof LayerVertex lv && lv.getPreProcessor() != null ? lv.getPreProcessor().clone() : null;
  }

  /** The vertices holding parameters, in topological order (inputs first). */
  public static List<String> parameterVertices(ComputationGraph graph) {
    List<String> out = new ArrayList<>();
    for (String name : graph.getConfiguration().getTopologicalOrderStr()) {
      if (graph.getVertex(name) != null && graph.getVertex(name).numParams() > 0) {
        out.add(name);
      }
    }
    return out;
  }

  /** The parameter groups, bottom to top, each with its vertices. */
  public static LinkedHashMap<String, List<String>> groups(ComputationGraph graph, Grouping grouping) {
    LinkedHashMap<String, List<String>> groups = new LinkedHashMap<>();
    for (String v : parameterVertices(graph)) {
      String key = grouping == Grouping.LAYERS || v.indexOf('.') < 0 ? v : v.substring(0, v.indexOf('.'));
      groups.computeIfAbsent(key, k -> new ArrayList<>()).add(v);
    }
    return groups;
  }

  /** {@code roots} and every vertex that reads their outputs, directly or through others. */
  public static Set<String> dependents(ComputationGraphConfiguration conf, Collection<String> roots) {
    Map<String, List<String>> readers = new LinkedHashMap<>();
    for (Map.Entry<String, List<String>> e : conf.getVertexInputs().entrySet()) {
      for (String in : e.getValue()) {
        readers.computeIfAbsent(in, k -> new ArrayList<>()).add(e.getKey());
      }
    }
    Set<String> seen = new HashSet<>(roots);
    Deque<String> todo = new ArrayDeque<>(roots);
    while (!todo.isEmpty()) {
      for (String r : readers.getOrDefault(todo.pop(), List.of())) {
        if (seen.add(r)) {
          todo.push(r);
        }
      }
    }
    return seen;
  }

  /**
   * The vertices a stage trains when it trains from {@code from}: a group's name, a vertex's name,
   * {@code all} or {@code head} (the given head vertices).
   *
   * @throws ConfigException naming the groups and vertices when {@code from} is neither
   */
  public static Set<String> trainableFrom(ComputationGraph graph, Map<String, List<String>> groups, String from, Collection<String> head) {
    ComputationGraphConfiguration conf = graph.getConfiguration();
    List<String> roots;
    if (from.equals("all")) {
      roots = new ArrayList<>(conf.getNetworkInputs());
    } else if (from.equals("head")) {
      roots = List.copyOf(head);
    } else if (groups.containsKey(from)) {
      roots = groups.get(from);
    } else if (conf.getVertices().containsKey(from)) {
      roots = List.of(from);
    } else {
      throw new ConfigException("Cannot fine-tune from '" + from + "': no such group or vertex (groups: " + String.join(", ", groups.keySet())
          + "; vertices: " + String.join(", ", conf.getTopologicalOrderStr()) + ")");
    }
    Set<String> trainable = dependents(conf, roots);
    trainable.retainAll(conf.getVertices().keySet());
    return trainable;
  }

  /** How one stage trains: which vertices, at which rates, with which weight decay. */
  public record StagePlan(Set<String> trainable, Function<String, IUpdater> updaterForVertex, double weightDecay, boolean freezeBatchNorm) {}

  /**
   * The graph for one stage: a copy of {@code working} whose layers outside {@code trainable} are
   * frozen (with backpropagation through them where a trainable layer lies below, as for batch
   * norm trained inside a frozen part), each trainable layer with its own updater and weight
   * decay. Parameters are copied; the updater state starts fresh.
   */
  public static ComputationGraph stageGraph(ComputationGraph working, StagePlan plan) {
    ComputationGraphConfiguration conf = working.getConfiguration().clone();
    conf.setIterationCount(0);
    conf.setEpochCount(0);
    Set<String> trainable = new HashSet<>(plan.trainable());
    for (Map.Entry<String, GraphVertex> e : conf.getVertices().entrySet()) {
      if (e.getValue() instanceof LayerVertex lv && Surgery.inner(lv.getLayerConf().getLayer()) instanceof BatchNormalization
          && !plan.freezeBatchNorm()) {
        trainable.add(e.getKey());
      }
    }
    Set<String> belowTrainable = dependents(conf, trainable);
    Map<String, GraphVertex> vertices = conf.getVertices();
    for (String name : new ArrayList<>(vertices.keySet())) {
      GraphVertex v = vertices.get(name);
      boolean hasParams = working.getVertex(name).numParams() > 0;
      if (v instanceof LayerVertex lv) {
        Layer layer = Surgery.inner(lv.getLayerConf().getLayer()).clone();
        if (trainable.contains(name)) {
          StageNetwork.configureTrainable(layer, plan.updaterForVertex().apply(name), plan.weightDecay(), 0);
          lv.getLayerConf().setLayer(layer);
        } else if (!belowTrainable.contains(name) || hasParams) {
          // wholly below the trainable part: no backpropagation at all (DL4J skips frozen vertices); above a
          // trainable vertex: gradients pass through to it
          Layer frozen = belowTrainable.contains(name) ? Surgery.frozenWithBackprop(layer) : new FrozenLayer(layer);
          frozen.setLayerName(layer.getLayerName());
          lv.getLayerConf().setLayer(frozen);
        }
      } else if (!belowTrainable.contains(name) && !(v instanceof FrozenVertex)) {
        vertices.put(name, new FrozenVertex(v));
      }
    }
    ComputationGraph g = new ComputationGraph(conf);
    g.init(working.params().dup(), false);
    return g;
  }

  /** The same graph with every layer trainable again, parameters kept. */
  public static ComputationGraph unfrozen(ComputationGraph stage) {
    ComputationGraphConfiguration conf = stage.getConfiguration().clone();
    for (Map.Entry<String, GraphVertex> e : conf.getVertices().entrySet()) {
      if (e.getValue() instanceof LayerVertex lv) {
        lv.getLayerConf().setLayer(Surgery.inner(lv.getLayerConf().getLayer()));
      } else if (e.getValue() instanceof FrozenVertex f) {
        e.setValue(f.getUnderlying());
      }
    }
    ComputationGraph g = new ComputationGraph(conf);
    g.init(stage.params().dup(), false);
    return g;
  }

  /** The same architecture with fresh weights from {@code seed} (the from-scratch baseline). */
  public static ComputationGraph reinitialised(ComputationGraph graph, long seed) {
    ComputationGraphConfiguration conf = graph.getConfiguration().clone();
    conf.getDefaultConfiguration().setSeed(seed);
    for (GraphVertex v : conf.getVertices().values()) {
      if (v instanceof LayerVertex lv) {
        lv.getLayerConf().setSeed(seed);
      }
    }
    Nd4j.getRandom().setSeed(seed);
    ComputationGraph g = new ComputationGraph(conf);
    g.init();
    return g;
  }

  /**
   * The vertices a stage graph trains or passes gradients through above its frozen part: every
   * layer not frozen and every other vertex not wrapped frozen (batch norm made trainable by
   * {@code freezeBatchNorm: false} included, which the stage's own trainable set does not name).
   */
  public static Set<String> unfrozenVertices(ComputationGraph stage) {
    Set<String> out = new HashSet<>();
    ComputationGraphConfiguration conf = stage.getConfiguration();
    for (Map.Entry<String, GraphVertex> e : conf.getVertices().entrySet()) {
      boolean frozen = e.getValue() instanceof LayerVertex lv ? Surgery.isFrozen(lv.getLayerConf().getLayer())
          : e.getValue() instanceof FrozenVertex || conf.getNetworkInputs().contains(e.getKey());
      if (!frozen) {
        out.add(e.getKey());
      }
    }
    return out;
  }

  /** Trainable and total parameter counts. */
  public static long[] trainableAndTotal(ComputationGraph graph) {
    long trainable = 0;
    long total = 0;
    for (Map.Entry<String, GraphVertex> e : graph.getConfiguration().getVertices().entrySet()) {
      long n = graph.getVertex(e.getKey()).numParams();
      total += n;
      if (e.getValue() instanceof LayerVertex lv && !Surgery.isFrozen(lv.getLayerConf().getLayer())) {
        trainable += n;
      }
    }
    return new long[] {trainable, total};
  }
}

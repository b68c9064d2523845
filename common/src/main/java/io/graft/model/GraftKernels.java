package io.graft.model;

import java.lang.reflect.Field;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.deeplearning4j.nn.graph.vertex.VertexIndices;
import org.deeplearning4j.nn.graph.vertex.impl.FrozenVertex;
import org.deeplearning4j.nn.graph.vertex.impl.LayerVertex;
import org.deeplearning4j.nn.layers.ActivationLayer;
import org.deeplearning4j.nn.layers.FrozenLayer;
import org.deeplearning4j.nn.layers.FrozenLayerWithBackprop;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Where DL4J 1.0.0-M2.1's layers waste time in training, Graft runs its own code behind the same
 * network: batch norm on {@link BatchNormKernels}, convolutions that do not recompute their forward
 * pass for the backward nor compute an input gradient nothing reads ({@link ConvolutionKernels}),
 * ReLU layers differentiated by a mask ({@link ReluLayer}), and max pooling that does not fall to
 * oneDNN's reference kernel on AVX2 CPUs ({@link PoolingKernels}, {@link PoolingLayer}). Each replaces a DL4J layer's helper or running layer object, never its
 * configuration: a network saved after training is a plain DL4J model, and loads without Graft.
 *
 * <p>Every Graft engine calls {@link #install} on the networks it trains or scores (Graft's
 * averaging, dl4j-spark's workers, evaluation, feature extraction). Only layers that DL4J gave its
 * oneDNN helper are touched (so {@code spark.graft.onednn=off} keeps DL4J's own layers throughout),
 * and ReLU layers only where oneDNN is on too, so that one setting switches everything back.
 */
public final class GraftKernels {
  private static final Field VERTEX_LAYER = field(LayerVertex.class, "layer");
  private static final Field LAYER_MAP = field(MultiLayerNetwork.class, "layerMap");
  /** System property that, set to {@code false}, keeps Graft's kernels on ND4J ops even where the Vector API is there. */
  public static final String VECTOR_PROPERTY = "graft.kernels.vector";
  private static final boolean VECTOR_MODULE = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
  /** The JIT that compiles the Vector API into vector instructions (C2) is on: not with {@code -XX:TieredStopAtLevel=1..3}. */
  private static final boolean VECTOR_JIT = java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
      .noneMatch(a -> a.matches("-XX:TieredStopAtLevel=[0-3]"));

  private GraftKernels() {}

  /**
   * How many layers of each kind run Graft's code after {@link #install}; {@code weightGradientsOnly}
   * of the convolutions have nothing trainable below them, and skip the gradient at their input.
   */
  public record Installed(int batchNorm, int convolutions, int weightGradientsOnly, int relu, int pooling) {
    public int total() {
      return batchNorm + convolutions + relu + pooling;
    }

    @Override
    public String toString() {
      return "Graft kernels on " + batchNorm + " batch-norm, " + convolutions + " convolution (" + weightGradientsOnly
          + " without an input gradient), " + relu + " ReLU and " + pooling + " max-pooling layers";
    }
  }

  /**
   * Puts Graft's kernels on {@code model}'s layers where they apply; idempotent, and a no-op on
   * other models and where oneDNN is off.
   */
  public static Installed install(Model model) {
    if (!oneDnnOn()) {
      return new Installed(0, 0, 0, 0, 0); // DL4J gave no layer its oneDNN helper: nothing to stand in for
    }
    replaceLayers(model);
    Set<Layer> inputGradientUnread = inputGradientUnread(model);
    int batchNorm = 0;
    int convolutions = 0;
    int weightGradientsOnly = 0;
    int relu = 0;
    int pooling = 0;
    for (Layer l : layers(model)) {
      batchNorm += BatchNormKernels.installOn(l) ? 1 : 0;
      boolean unread = inputGradientUnread.contains(l);
      if (ConvolutionKernels.installOn(l, !unread)) {
        convolutions++;
        weightGradientsOnly += unread ? 1 : 0;
      }
      relu += l instanceof ReluLayer ? 1 : 0;
      pooling += PoolingKernels.installOn(l) ? 1 : 0;
    }
    return new Installed(batchNorm, convolutions, weightGradientsOnly, relu, pooling);
  }

  /**
   * The layers of {@code model} whose input gradient no training step reads: nothing below them has
   * trainable parameters (only the network's inputs, parameter-free layers and vertices such as
   * preprocessors and pooling, and frozen layers). DL4J computes that gradient and then drops it.
   */
  static Set<Layer> inputGradientUnread(Model model) {
    Set<Layer> out = Collections.newSetFromMap(new IdentityHashMap<>());
    if (model instanceof MultiLayerNetwork net && net.getLayers() != null) {
      for (Layer l : net.getLayers()) {
        out.add(l);
        if (trainable(l)) {
          break;
        }
      }
    } else if (model instanceof ComputationGraph graph && graph.getVertices() != null) {
      GraphVertex[] vertices = graph.getVertices();
      boolean[] trainableAtOrBelow = new boolean[vertices.length];
      for (int i : graph.topologicalSortOrder()) {
        GraphVertex v = vertices[i];
        boolean below = false;
        for (VertexIndices in : v.getInputVertices() == null ? new VertexIndices[0] : v.getInputVertices()) {
          below |= trainableAtOrBelow[in.getVertexIndex()];
        }
        if (!below && v.hasLayer()) {
          out.add(v.getLayer());
        }
        trainableAtOrBelow[i] = below || (v.hasLayer() ? trainable(v.getLayer()) : !(v instanceof FrozenVertex) && v.numParams() > 0);
      }
    }
    return out;
  }

  /** A layer whose parameters a training step updates: it has some, and is not one of DL4J's frozen wrappers. */
  private static boolean trainable(Layer l) {
    return l.numParams() > 0 && !(l instanceof FrozenLayer) && !(l instanceof FrozenLayerWithBackprop);
  }

  /** The running layers of a ComputationGraph or MultiLayerNetwork (none for other models or before init). */
  static Layer[] layers(Model model) {
    Layer[] layers = model instanceof ComputationGraph g ? g.getLayers() : model instanceof MultiLayerNetwork n ? n.getLayers() : null;
    return layers == null ? new Layer[0] : layers;
  }

  /**
   * Swaps each plain ReLU activation layer for a {@link ReluLayer}, and each subsampling layer on
   * DL4J's oneDNN helper for a {@link PoolingLayer}, everywhere the network keeps it.
   */
  private static void replaceLayers(Model model) {
    Layer[] layers = layers(model);
    if (model instanceof ComputationGraph graph) {
      for (GraphVertex v : graph.getVertices()) {
        if (v instanceof LayerVertex lv && lv.getLayer() != null) {
          Layer old = lv.getLayer();
          Layer replaced = replacement(old, graph.getConfiguration().getDataType());
          if (replaced != old) {
            set(VERTEX_LAYER, lv, replaced);
            replace(layers, old, replaced);
          }
        }
      }
    } else if (model instanceof MultiLayerNetwork net) {
      @SuppressWarnings("unchecked")
      Map<String, Layer> byName = (Map<String, Layer>) get(LAYER_MAP, net);
      for (Layer old : layers.clone()) {
        Layer replaced = replacement(old, net.getLayerWiseConfigurations().getDataType());
        if (replaced != old) {
          replace(layers, old, replaced);
          if (byName != null) {
            byName.replaceAll((name, l) -> l == old ? replaced : l);
          }
        }
      }
    }
  }

  /**
   * Whether kernels installed now run their element-wise passes as {@link VectorKernels}: the JVM
   * was started with {@code --add-modules=jdk.incubator.vector} (Graft's launchers and build do) and
   * {@value #VECTOR_PROPERTY} is not {@code false}. Without the module they run as ND4J ops, slower
   * but the same arithmetic. A JVM limited to the C1 compiler ({@code -XX:TieredStopAtLevel=1}) would
   * run the Vector API without vector instructions, many times slower: there the ND4J ops run too.
   */
  public static boolean vectorKernels() {
    return VECTOR_MODULE && VECTOR_JIT && !"false".equals(System.getProperty(VECTOR_PROPERTY));
  }

  /** How Graft's kernels run their element-wise passes in this JVM, for logs and benchmark host lines. */
  public static String describe() {
    return vectorKernels() ? VectorKernels.describe() : "ND4J ops" + (!VECTOR_MODULE
        ? " (no jdk.incubator.vector module: add --add-modules=jdk.incubator.vector)" : !VECTOR_JIT ? " (C1-only JIT)" : "");
  }

  /** DL4J's oneDNN layer helpers are on in this JVM ({@link OneDnn#configure} decided). */
  private static boolean oneDnnOn() {
    return "false".equals(System.getProperty(OneDnn.HELPERS_DISABLE));
  }

  /** {@code layer}, or the running layer Graft puts in its place ({@link ReluLayer}, {@link PoolingLayer}). */
  private static Layer replacement(Layer layer, DataType dataType) {
    Layer relu = relu(layer, dataType);
    return relu != layer ? relu : PoolingLayer.replacing(layer, dataType);
  }

  /** {@code layer}, or a {@link ReluLayer} in its place where it is DL4J's plain ReLU activation layer without dropout. */
  private static Layer relu(Layer layer, DataType dataType) {
    if (layer.getClass() != ActivationLayer.class) {
      return layer;
    }
    org.deeplearning4j.nn.conf.layers.Layer conf = layer.conf().getLayer();
    if (!(conf instanceof org.deeplearning4j.nn.conf.layers.ActivationLayer a) || a.getIDropout() != null
        || !(a.getActivationFn() instanceof ActivationReLU r) || !ConvolutionKernels.derivativeFromOutput(r)) {
      return layer;
    }
    ReluLayer replacement = new ReluLayer(layer.conf(), dataType, vectorKernels());
    replacement.setIndex(layer.getIndex());
    replacement.setListeners(layer.getListeners());
    return replacement;
  }

  private static void replace(Layer[] layers, Layer old, Layer replacement) {
    for (int i = 0; i < layers.length; i++) {
      if (layers[i] == old) {
        layers[i] = replacement;
      }
    }
  }

  /** A DL4J field Graft replaces objects in, made accessible; fails loudly on a DL4J without it. */
  static Field field(Class<?> owner, String name) {
    try {
      Field f = owner.getDeclaredField(name);
      f.setAccessible(true);
      return f;
    } catch (NoSuchFieldException e) {
      throw new IllegalStateException("DL4J's " + owner.getSimpleName() + " has no '" + name + "' field: another DL4J version?", e);
    }
  }

  static Object get(Field f, Object owner) {
    try {
      return f.get(owner);
    } catch (IllegalAccessException e) {
      throw new IllegalStateException(e);
    }
  }

  static void set(Field f, Object owner, Object value) {
    try {
      f.set(owner, value);
    } catch (IllegalAccessException e) {
      throw new IllegalStateException(e);
    }
  }
}

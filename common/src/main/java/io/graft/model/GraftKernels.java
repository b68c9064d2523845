package io.graft.model;

import java.lang.reflect.Field;
import java.util.Map;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.deeplearning4j.nn.graph.vertex.impl.LayerVertex;
import org.deeplearning4j.nn.layers.ActivationLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Where DL4J 1.0.0-M2.1's layers waste time in training, Graft runs its own code behind the same
 * network: batch norm on {@link BatchNormKernels}, convolutions that do not recompute their forward
 * pass for the backward ({@link ConvForwardReuse}), and ReLU layers differentiated by a mask
 * ({@link ReluLayer}). Each replaces a DL4J layer's helper or running layer object, never its
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

  /** How many layers of each kind run Graft's code after {@link #install}. */
  public record Installed(int batchNorm, int convolutions, int relu) {
    public int total() {
      return batchNorm + convolutions + relu;
    }

    @Override
    public String toString() {
      return "Graft kernels on " + batchNorm + " batch-norm, " + convolutions + " convolution and " + relu + " ReLU layers";
    }
  }

  /**
   * Puts Graft's kernels on {@code model}'s layers where they apply; idempotent, and a no-op on
   * other models and where oneDNN is off.
   */
  public static Installed install(Model model) {
    if (!oneDnnOn()) {
      return new Installed(0, 0, 0); // DL4J gave no layer its oneDNN helper: nothing to stand in for
    }
    replaceReluLayers(model);
    int batchNorm = 0;
    int convolutions = 0;
    int relu = 0;
    for (Layer l : layers(model)) {
      batchNorm += BatchNormKernels.installOn(l) ? 1 : 0;
      convolutions += ConvForwardReuse.installOn(l) ? 1 : 0;
      relu += l instanceof ReluLayer ? 1 : 0;
    }
    return new Installed(batchNorm, convolutions, relu);
  }

  /** The running layers of a ComputationGraph or MultiLayerNetwork (none for other models or before init). */
  static Layer[] layers(Model model) {
    Layer[] layers = model instanceof ComputationGraph g ? g.getLayers() : model instanceof MultiLayerNetwork n ? n.getLayers() : null;
    return layers == null ? new Layer[0] : layers;
  }

  /** Swaps each plain ReLU activation layer for a {@link ReluLayer} everywhere the network keeps it. */
  private static void replaceReluLayers(Model model) {
    Layer[] layers = layers(model);
    if (model instanceof ComputationGraph graph) {
      for (GraphVertex v : graph.getVertices()) {
        if (v instanceof LayerVertex lv && lv.getLayer() != null) {
          Layer old = lv.getLayer();
          Layer replaced = relu(old, graph.getConfiguration().getDataType());
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
        Layer replaced = relu(old, net.getLayerWiseConfigurations().getDataType());
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

  /** {@code layer}, or a {@link ReluLayer} in its place where it is DL4J's plain ReLU activation layer without dropout. */
  private static Layer relu(Layer layer, DataType dataType) {
    if (layer.getClass() != ActivationLayer.class) {
      return layer;
    }
    org.deeplearning4j.nn.conf.layers.Layer conf = layer.conf().getLayer();
    if (!(conf instanceof org.deeplearning4j.nn.conf.layers.ActivationLayer a) || a.getIDropout() != null
        || !(a.getActivationFn() instanceof ActivationReLU r) || !ConvForwardReuse.derivativeFromOutput(r)) {
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

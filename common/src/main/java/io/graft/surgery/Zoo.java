package io.graft.surgery;

import io.graft.config.ConfigException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiFunction;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.PreprocessorVertex;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.zoo.ZooModel;
import org.deeplearning4j.zoo.model.ResNet50;
import org.deeplearning4j.zoo.model.SqueezeNet;
import org.deeplearning4j.zoo.model.VGG16;
import org.deeplearning4j.zoo.model.VGG19;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Architectures from DL4J's model zoo as fine-tuning sources: {@code zoo:NAME} or
 * {@code zoo:NAME/CxHxW} (default 3x224x224) builds the ComputationGraph with random weights from
 * a fixed seed. DL4J's pretrained zoo weights are downloaded from the web on first use, so Graft
 * does not fetch them; train the architecture (or import pretrained weights another way) first.
 *
 * <p>The graph reads Graft's flat rows: a reshape vertex {@code input.chw} (rows to C x H x W
 * images, as an imported ONNX model has) sits between the input and the zoo's first layer.
 */
public final class Zoo {
  public static final String PREFIX = "zoo:";
  private static final long SEED = 12345;
  private static final Map<String, BiFunction<int[], Integer, ZooModel<?>>> MODELS = new TreeMap<>(Map.of(
      "resnet50", (shape, classes) -> ResNet50.builder().inputShape(shape).numClasses(classes).seed(SEED).build(),
      "squeezenet", (shape, classes) -> SqueezeNet.builder().inputShape(shape).numClasses(classes).seed(SEED).build(),
      "vgg16", (shape, classes) -> VGG16.builder().inputShape(shape).numClasses(classes).seed(SEED).build(),
      "vgg19", (shape, classes) -> VGG19.builder().inputShape(shape).numClasses(classes).seed(SEED).build()));

  private Zoo() {}

  /** Whether a source URI names a zoo architecture. */
  public static boolean isZoo(String uri) {
    return uri != null && uri.startsWith(PREFIX);
  }

  /** The zoo names Graft builds. */
  public static List<String> names() {
    return new ArrayList<>(MODELS.keySet());
  }

  /**
   * The architecture {@code uri} names, random weights, 1000 classes (the head fine-tuning replaces).
   *
   * @throws ConfigException naming the architecture when Graft does not know it or it cannot take the shape
   */
  public static ComputationGraph build(String uri) {
    String spec = uri.substring(PREFIX.length());
    String name = spec.contains("/") ? spec.substring(0, spec.indexOf('/')) : spec;
    BiFunction<int[], Integer, ZooModel<?>> factory = MODELS.get(name.toLowerCase(Locale.ROOT));
    if (factory == null) {
      throw new ConfigException("Unknown zoo model '" + name + "' in " + uri + " (Graft builds: " + String.join(", ", names()) + ")");
    }
    int[] chw = spec.contains("/") ? shape(spec.substring(spec.indexOf('/') + 1), uri) : new int[] {3, 224, 224};
    ComputationGraph zoo;
    try {
      Nd4j.getRandom().setSeed(SEED);
      zoo = (ComputationGraph) factory.apply(chw, 1000).init();
    } catch (RuntimeException e) {
      throw new ConfigException("Zoo model " + name + " cannot take " + chw[0] + "x" + chw[1] + "x" + chw[2] + " inputs ("
          + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().lines().findFirst().orElse("")) + ")");
    }
    return readingRows(zoo, chw);
  }

  private static int[] shape(String s, String uri) {
    String[] parts = s.split("x");
    try {
      int[] chw = Arrays.stream(parts).mapToInt(Integer::parseInt).toArray();
      if (chw.length == 3 && Arrays.stream(chw).allMatch(v -> v > 0)) {
        return chw;
      }
    } catch (NumberFormatException e) {
      // refused below
    }
    throw new ConfigException("A zoo input shape is CxHxW, e.g. zoo:resnet50/3x224x224, cannot be: " + uri);
  }

  /** The zoo graph with a reshape from flat rows to images in front of it, fresh weights from the zoo seed. */
  private static ComputationGraph readingRows(ComputationGraph zoo, int[] chw) {
    ComputationGraphConfiguration conf = zoo.getConfiguration().clone();
    ConfigException.require(conf.getNetworkInputs().size() == 1, "Zoo models with several inputs are not supported");
    String input = conf.getNetworkInputs().get(0);
    String reshape = input + ".chw";
    GraphSurgery.rewire(conf, input, reshape);
    conf.getVertices().put(reshape, new PreprocessorVertex(new FeedForwardToCnnPreProcessor(chw[1], chw[2], chw[0])));
    conf.getVertexInputs().put(reshape, new ArrayList<>(List.of(input)));
    Nd4j.getRandom().setSeed(SEED);
    ComputationGraph g = new ComputationGraph(conf);
    g.init();
    return g;
  }
}

package io.graft.surgery;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.graph.PreprocessorVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The trainable top of a fine-tuning stage's graph as a graph of its own, for training on cached
 * features: when everything the trainable vertices read from the frozen part comes through one
 * vertex (the boundary), that vertex's outputs can be computed once, and the top trains on them as
 * a separate graph whose input is the boundary's output (flat rows, reshaped back to images when the
 * boundary outputs images). Its weights are copied back into the full graph afterwards.
 *
 * @param boundary the frozen vertex whose output the top reads
 * @param top the trainable part, its input named {@link #INPUT}
 * @param vertices the top's vertices (names as in the full graph)
 * @param width values per row of the boundary's output
 */
public record GraphCut(String boundary, ComputationGraph top, List<String> vertices, long width) {
  public static final String INPUT = "features";

  /**
   * The cut of {@code stage} above its frozen part, or null when the trainable vertices read more
   * than one frozen vertex (or the network input directly), a frozen vertex reads a trainable one,
   * or the boundary's output shape is unknown.
   */
  public static GraphCut of(ComputationGraph stage, Set<String> trainable) {
    ComputationGraphConfiguration conf = stage.getConfiguration();
    Set<String> reads = new LinkedHashSet<>();
    List<String> order = new ArrayList<>();
    for (String v : conf.getTopologicalOrderStr()) {
      if (trainable.contains(v)) {
        order.add(v);
        for (String in : conf.getVertexInputs().get(v)) {
          if (!trainable.contains(in)) {
            reads.add(in);
          }
        }
      }
    }
    if (reads.size() != 1 || conf.getNetworkInputs().containsAll(reads)) {
      return null;
    }
    for (Map.Entry<String, List<String>> e : conf.getVertexInputs().entrySet()) {
      if (!trainable.contains(e.getKey()) && e.getValue().stream().anyMatch(trainable::contains)) {
        return null; // a frozen vertex above a trainable one (LoRA's sum, an adapter's): the top is not one piece
      }
    }
    String boundary = reads.iterator().next();
    InputType inputType = Graphs.inputType(conf);
    if (inputType == null) {
      return null;
    }
    InputType at = conf.getLayerActivationTypes(inputType).get(boundary);
    if (at == null) {
      return null;
    }
    long width = at.arrayElementsPerExample();
    // every layer carries its own settings (updater, rates, weight decay): the builder's defaults only fill what is unset
    ComputationGraphConfiguration.GraphBuilder b = new NeuralNetConfiguration.Builder().seed(conf.getDefaultConfiguration().getSeed())
        .dataType(conf.getDataType()).graphBuilder().addInputs(INPUT);
    String source = INPUT;
    if (at.getType() == InputType.Type.CNN) {
      InputType.InputTypeConvolutional c = (InputType.InputTypeConvolutional) at;
      source = INPUT + ".chw";
      b.addVertex(source, new PreprocessorVertex(c.getFormat() == CNN2DFormat.NHWC
          ? new ChannelsLastRowsPreProcessor(c.getHeight(), c.getWidth(), c.getChannels())
          : new FeedForwardToCnnPreProcessor(c.getHeight(), c.getWidth(), c.getChannels())), INPUT);
    }
    Map<String, GraphVertex> vertices = conf.getVertices();
    for (String v : order) {
      String from = source;
      String[] ins = conf.getVertexInputs().get(v).stream().map(i -> i.equals(boundary) ? from : i).toArray(String[]::new);
      GraphVertex gv = vertices.get(v).clone();
      if (gv instanceof LayerVertex lv) {
        b.addLayer(v, lv.getLayerConf().getLayer().clone(), lv.getPreProcessor() == null ? null : lv.getPreProcessor().clone(), ins);
      } else {
        b.addVertex(v, gv, ins);
      }
    }
    b.setOutputs(conf.getNetworkOutputs().toArray(String[]::new));
    b.setInputTypes(InputType.feedForward(width));
    ComputationGraph top = new ComputationGraph(b.build());
    top.init();
    for (String v : order) {
      copy(stage, top, v);
    }
    return new GraphCut(boundary, top, order, width);
  }

  /** The boundary's outputs for a batch of the full graph's inputs, as flat rows. */
  public static INDArray features(ComputationGraph stage, String boundary, INDArray input) {
    INDArray a = stage.feedForward(input, false).get(boundary);
    return a.reshape('c', a.size(0), a.length() / a.size(0));
  }

  /** The trained top's weights written back into the full graph. */
  public ComputationGraph copyBack(ComputationGraph trainedTop, ComputationGraph full) {
    for (String v : vertices) {
      copy(trainedTop, full, v);
    }
    return full;
  }

  private static void copy(ComputationGraph from, ComputationGraph to, String vertex) {
    Map<String, INDArray> src = from.getVertex(vertex).paramTable(false);
    Map<String, INDArray> dst = to.getVertex(vertex).paramTable(false);
    for (Map.Entry<String, INDArray> e : src.entrySet()) {
      dst.get(e.getKey()).assign(e.getValue());
    }
  }
}

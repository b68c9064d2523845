package io.graft.engine;

import io.graft.spark.GraftDatasets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.deeplearning4j.nn.layers.normalization.BatchNormalization;
import org.deeplearning4j.nn.params.BatchNormalizationParamInitializer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A graph's batch-norm statistics re-estimated on one domain (AdaBN, Li et al., "Revisiting
 * batch normalization for practical domain adaptation", 2016): each batch-norm layer, bottom up,
 * gets the per-channel mean and (biased) variance of its inputs over the domain's rows, computed on
 * the executors with the layers below it already adapted. A trunk trained on half-source,
 * half-target minibatches otherwise normalises the target with the running averages of that
 * mixture. Learned weights are not touched.
 */
public final class DomainBatchNorm {
  private static final int BATCH = 256;

  private DomainBatchNorm() {}

  /** Adapts {@code graph} in place to the rows {@code features} (the graph's input, flat); returns the layers adapted, bottom up. */
  public static List<String> adapt(JavaSparkContext sc, ComputationGraph graph, JavaRDD<float[]> features) {
    List<String> adapted = new ArrayList<>();
    for (String name : graph.getConfiguration().getTopologicalOrderStr()) {
      GraphVertex v = graph.getVertex(name);
      if (v == null || !v.hasLayer() || !(v.getLayer() instanceof BatchNormalization bn)) {
        continue;
      }
      String input = graph.getConfiguration().getVertexInputs().get(name).get(0);
      BroadcastNetwork shipped = BroadcastNetwork.of(sc, (Model) graph);
      double[] sums;
      try {
        sums = features.mapPartitions(new Moments(shipped, input, graph.getVertex(input).getVertexIndex()))
            .reduce(DomainBatchNorm::add);
      } finally {
        shipped.destroy();
      }
      set(bn, sums);
      adapted.add(name);
    }
    return adapted;
  }

  /** Writes the mean and variance of [rows, sum per channel..., sum of squares per channel...] into the layer's running statistics. */
  static void set(BatchNormalization bn, double[] sums) {
    int channels = (sums.length - 1) / 2;
    double n = sums[0];
    float[] mean = new float[channels];
    float[] var = new float[channels];
    for (int c = 0; c < channels; c++) {
      double m = sums[1 + c] / n;
      mean[c] = (float) m;
      var[c] = (float) Math.max(0, sums[1 + channels + c] / n - m * m);
    }
    Map<String, INDArray> params = bn.paramTable(false);
    INDArray meanView = params.get(BatchNormalizationParamInitializer.GLOBAL_MEAN);
    meanView.assign(Nd4j.createFromArray(mean).reshape(meanView.shape()));
    if (params.containsKey(BatchNormalizationParamInitializer.GLOBAL_LOG_STD)) {
      INDArray logStd = params.get(BatchNormalizationParamInitializer.GLOBAL_LOG_STD);
      float[] l = new float[channels];
      for (int c = 0; c < channels; c++) {
        l[c] = (float) Math.log10(Math.sqrt(var[c] + bn.layerConf().getEps()));
      }
      logStd.assign(Nd4j.createFromArray(l).reshape(logStd.shape()));
    } else {
      INDArray varView = params.get(BatchNormalizationParamInitializer.GLOBAL_VAR);
      varView.assign(Nd4j.createFromArray(var).reshape(varView.shape()));
    }
  }

  private static double[] add(double[] a, double[] b) {
    double[] s = a.clone();
    for (int i = 0; i < s.length; i++) {
      s[i] += b[i];
    }
    return s;
  }

  /** Executor side: [rows, per-channel sums, per-channel sums of squares] of one vertex's output over a partition, in double. */
  static final class Moments implements FlatMapFunction<Iterator<float[]>, double[]> {
    private final BroadcastNetwork shipped;
    private final String vertex;
    private final int vertexIndex;

    Moments(BroadcastNetwork shipped, String vertex, int vertexIndex) {
      this.shipped = shipped;
      this.vertex = vertex;
      this.vertexIndex = vertexIndex;
    }

    @Override
    public Iterator<double[]> call(Iterator<float[]> rows) {
      ComputationGraph graph = (ComputationGraph) shipped.model();
      double[] sums = null;
      List<float[]> batch = new ArrayList<>();
      while (rows.hasNext()) {
        batch.add(rows.next());
        if (batch.size() == BATCH || !rows.hasNext()) {
          INDArray act = graph.feedForward(new INDArray[] {GraftDatasets.stack(batch)}, vertexIndex, false).get(vertex);
          long channels = act.size(1);
          // [N, C] or [N, C, H, W] -> [C, N*H*W]
          INDArray perChannel = (act.rank() == 2 ? act.transpose() : act.permute(1, 0, 2, 3)).dup('c').reshape('c', channels, -1)
              .castTo(DataType.DOUBLE);
          double[] s = perChannel.sum(1).toDoubleVector();
          double[] q = perChannel.mul(perChannel).sum(1).toDoubleVector();
          if (sums == null) {
            sums = new double[(int) (1 + 2 * channels)];
          }
          sums[0] += perChannel.size(1);
          for (int c = 0; c < channels; c++) {
            sums[1 + c] += s[c];
            sums[1 + (int) channels + c] += q[c];
          }
          batch.clear();
        }
      }
      return sums == null ? java.util.Collections.emptyIterator() : List.of(sums).iterator();
    }
  }
}

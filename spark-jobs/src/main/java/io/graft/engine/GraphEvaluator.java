package io.graft.engine;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;

/**
 * Evaluates each output of a {@link ComputationGraph} on an RDD of minibatches. Rows whose label
 * mask for an output is 0 (unlabelled rows, rows of another task) are left out of that output's
 * figures. The loss is the mean cross-entropy of the true class.
 */
public final class GraphEvaluator {
  private GraphEvaluator() {}

  /** One output's figures. */
  public record Result(double accuracy, double loss, long count, Evaluation evaluation) implements Serializable {}

  /**
   * Scores every output of {@code graph} on {@code data}.
   *
   * @param poolKey names the executors' pool of evaluation networks (one per job run, so rounds
   *     reuse them)
   */
  public static List<Result> evaluate(JavaSparkContext sc, ComputationGraph graph, JavaRDD<MultiDataSet> data, String poolKey) {
    int outputs = graph.getNumOutputArrays();
    Broadcast<String> conf = sc.broadcast(graph.getConfiguration().toJson());
    Broadcast<INDArray> params = sc.broadcast(graph.params().dup());
    try {
      List<List<Partial>> parts = data.mapPartitions(new EvaluatePartition(conf, params, poolKey, outputs)).collect();
      List<Result> results = new ArrayList<>();
      for (int o = 0; o < outputs; o++) {
        Evaluation eval = null;
        double lossSum = 0;
        long count = 0;
        for (List<Partial> p : parts) {
          Partial q = p.get(o);
          if (q.count == 0) {
            continue;
          }
          if (eval == null) {
            eval = q.evaluation;
          } else {
            eval.merge(q.evaluation);
          }
          lossSum += q.lossSum;
          count += q.count;
        }
        results.add(count == 0 ? new Result(Double.NaN, Double.NaN, 0, null) : new Result(eval.accuracy(), lossSum / count, count, eval));
      }
      return results;
    } finally {
      conf.destroy();
      params.destroy();
    }
  }

  record Partial(Evaluation evaluation, double lossSum, long count) implements Serializable {}

  static final class EvaluatePartition implements FlatMapFunction<Iterator<MultiDataSet>, List<Partial>> {
    private final Broadcast<String> conf;
    private final Broadcast<INDArray> params;
    private final String poolKey;
    private final int outputs;

    EvaluatePartition(Broadcast<String> conf, Broadcast<INDArray> params, String poolKey, int outputs) {
      this.conf = conf;
      this.params = params;
      this.poolKey = poolKey;
      this.outputs = outputs;
    }

    @Override
    public Iterator<List<Partial>> call(Iterator<MultiDataSet> batches) {
      Evaluation[] evals = new Evaluation[outputs];
      double[] loss = new double[outputs];
      long[] count = new long[outputs];
      for (int o = 0; o < outputs; o++) {
        evals[o] = new Evaluation();
      }
      if (batches.hasNext()) {
        ComputationGraph net = (ComputationGraph) NetworkPool.borrow(poolKey, true, conf.value());
        try {
          net.setParams(params.value());
          while (batches.hasNext()) {
            MultiDataSet ds = batches.next();
            INDArray[] out = net.output(false, ds.getFeatures());
            for (int o = 0; o < outputs; o++) {
              INDArray labels = ds.getLabels(o);
              INDArray mask = ds.getLabelsMaskArrays() == null ? null : ds.getLabelsMaskArray(o);
              // One pass over each batch's labels and mask (not a row view per example).
              double[] labelled = labels.sum(1).toDoubleVector();
              double[] keep = mask == null ? null : mask.toDoubleVector();
              List<Integer> rows = new ArrayList<>();
              for (int i = 0; i < labelled.length; i++) {
                if ((keep == null || keep[i] > 0) && labelled[i] > 0) {
                  rows.add(i);
                }
              }
              if (rows.isEmpty()) {
                continue;
              }
              int[] idx = rows.stream().mapToInt(Integer::intValue).toArray();
              INDArray y = labels.getRows(idx);
              INDArray p = out[o].getRows(idx);
              evals[o].eval(y, p);
              for (double truth : p.mul(y).sum(1).toDoubleVector()) {
                loss[o] -= Math.log(Math.max(1e-12, truth));
              }
              count[o] += idx.length;
            }
          }
        } finally {
          NetworkPool.release(poolKey, net);
        }
      }
      List<Partial> result = new ArrayList<>();
      for (int o = 0; o < outputs; o++) {
        result.add(new Partial(evals[o], loss[o], count[o]));
      }
      return List.of(result).iterator();
    }
  }
}

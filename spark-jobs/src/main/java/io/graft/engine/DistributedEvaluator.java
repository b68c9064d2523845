package io.graft.engine;

import java.io.Serializable;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

/**
 * Evaluates a network on an RDD of minibatches: the configuration and parameters are broadcast
 * and each partition scores its batches with its own copy.
 *
 * <p>It never touches the training network's buffers, unlike dl4j-spark's
 * {@code calculateScore()}, which releases them so the next {@code fit()} fails with "DataBuffer
 * was released" (see {@code DistributedEvaluatorTest}).
 */
public final class DistributedEvaluator {
  private DistributedEvaluator() {}

  /**
   * Accuracy, mean loss and the full DL4J evaluation over all rows; {@code extra}: figures an
   * objective adds (they go into the round's metrics).
   */
  public record Result(double accuracy, double loss, long count, Evaluation evaluation, Map<String, Double> extra)
      implements Serializable {
    public Result(double accuracy, double loss, long count, Evaluation evaluation) {
      this(accuracy, loss, count, evaluation, Map.of());
    }
  }

  public static Result evaluate(JavaSparkContext sc, Model network, JavaRDD<DataSet> data) {
    BroadcastNetwork shipped = BroadcastNetwork.of(sc, network);
    try {
      List<Partial> partials = data.mapPartitions(new EvaluatePartition(shipped)).collect();
      Evaluation total = null;
      double lossSum = 0;
      long count = 0;
      for (Partial p : partials) {
        if (total == null) {
          total = p.evaluation;
        } else {
          total.merge(p.evaluation);
        }
        lossSum += p.lossSum;
        count += p.count;
      }
      if (count == 0) {
        throw new IllegalStateException("Evaluation set is empty");
      }
      return new Result(total.accuracy(), lossSum / count, count, total);
    } finally {
      shipped.destroy();
    }
  }

  /** One partition's counts. */
  static final class Partial implements Serializable {
    final Evaluation evaluation;
    final double lossSum;
    final long count;

    Partial(Evaluation evaluation, double lossSum, long count) {
      this.evaluation = evaluation;
      this.lossSum = lossSum;
      this.count = count;
    }
  }

  static final class EvaluatePartition implements FlatMapFunction<Iterator<DataSet>, Partial> {
    private final BroadcastNetwork shipped;

    EvaluatePartition(BroadcastNetwork shipped) {
      this.shipped = shipped;
    }

    @Override
    public Iterator<Partial> call(Iterator<DataSet> batches) {
      if (!batches.hasNext()) {
        return Collections.emptyIterator();
      }
      Model model = shipped.model();
      ComputationGraph graph = model instanceof ComputationGraph g ? g : null;
      MultiLayerNetwork net = graph == null ? (MultiLayerNetwork) model : null;
      Evaluation eval = new Evaluation();
      double lossSum = 0;
      long count = 0;
      while (batches.hasNext()) {
        DataSet ds = batches.next();
        INDArray out = graph != null ? graph.outputSingle(false, ds.getFeatures()) : net.output(ds.getFeatures(), false);
        eval.eval(ds.getLabels(), out);
        long n = ds.numExamples();
        lossSum += (graph != null ? graph.score(ds, false) : net.score(ds, false)) * n;
        count += n;
      }
      return List.of(new Partial(eval, lossSum, count)).iterator();
    }
  }
}

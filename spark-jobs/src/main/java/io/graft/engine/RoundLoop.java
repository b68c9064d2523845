package io.graft.engine;

import io.graft.config.TrainingConfig;
import io.graft.spark.GraftSpark;
import java.util.List;
import java.util.function.Function;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;

/**
 * The round loop every training job runs: each round the driver's current parameters (and
 * updater state) are broadcast, the workers fit their share of the data with dl4j-spark
 * parameter averaging, the averaged network is evaluated, and listeners (progress, checkpoints,
 * metrics, early stopping) see the result. Rounds are numbered globally across stages.
 */
public final class RoundLoop {
  private RoundLoop() {}

  /**
   * One stretch of rounds on one network.
   *
   * @param job job name for the Spark UI and logs
   * @param stage stage name, or null for single-stage jobs
   * @param firstRound the first round to run (1-based, global)
   * @param lastRound the last round to run, inclusive
   * @param totalRounds rounds in the whole job, for progress and ETA
   * @param evalSet "test" or "val": which held-out set {@code evaluate} scores
   */
  public record Spec(String job, String stage, int firstRound, int lastRound, int totalRounds, String evalSet,
      TrainingConfig training, int workers, Path workDir, boolean graftAveraging) {
    public Spec(String job, String stage, int firstRound, int lastRound, int totalRounds, String evalSet, TrainingConfig training, int workers,
        Path workDir) {
      this(job, stage, firstRound, lastRound, totalRounds, evalSet, training, workers, workDir,
          training.engine() == TrainingConfig.Engine.GRAFT);
    }

    /** The same stretch on Graft's own averaging ({@link SyncAveraging}) instead of dl4j-spark. */
    public Spec withGraftAveraging() {
      return new Spec(job, stage, firstRound, lastRound, totalRounds, evalSet, training, workers, workDir, true);
    }
  }

  /** Decides after a round whether to stop the stretch early (early stopping). */
  @FunctionalInterface
  public interface StopRule {
    boolean stop(RoundMetrics metrics);
  }

  /**
   * Runs rounds {@code firstRound..lastRound} and returns the trained network.
   *
   * @param trainForRound the training minibatches of a round (the same RDD every round unless
   *     the data are augmented per round)
   */
  public static MultiLayerNetwork run(SparkSession spark, MultiLayerNetwork network, Function<Integer, JavaRDD<DataSet>> trainForRound,
      long trainCount, Function<MultiLayerNetwork, DistributedEvaluator.Result> evaluate, Spec spec, List<RoundListener> listeners,
      StopRule stopRule) throws Exception {
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    if (spec.graftAveraging()) {
      return runOnGraftAveraging(spark, sc, network, trainForRound, trainCount, evaluate, spec, listeners, stopRule);
    }
    long rngSeed = spec.training().seed() + 7919L * spec.firstRound();
    SparkDl4jMultiLayer sparkNet = new SparkDl4jMultiLayer(sc, network,
        ParameterAveraging.trainingMaster(spec.training(), spec.workers(), new Path(spec.workDir(), "export").toString(), rngSeed));
    String label = spec.stage() == null ? spec.job() : spec.job() + " " + spec.stage();
    MultiLayerNetwork current = network;
    for (int round = spec.firstRound(); round <= spec.lastRound(); round++) {
      GraftSpark.jobGroup(spark, "graft-" + spec.job(), label + " round " + round + "/" + spec.totalRounds());
      JavaRDD<DataSet> data = trainForRound.apply(round);
      double lr = current.getLearningRate(current.getnLayers() - 1) == null ? Double.NaN : current.getLearningRate(current.getnLayers() - 1);
      long t0 = System.nanoTime();
      sparkNet.fit(data);
      double wall = (System.nanoTime() - t0) / 1e9;
      current = sparkNet.getNetwork();
      GraftSpark.jobGroup(spark, "graft-" + spec.job(), label + " round " + round + "/" + spec.totalRounds() + ": evaluation");
      DistributedEvaluator.Result eval = evaluate.apply(current);
      RoundMetrics m = new RoundMetrics(round, spec.totalRounds(), spec.stage(), spec.evalSet(), sparkNet.getScore(), eval.loss(),
          eval.accuracy(), trainCount, trainCount / wall, wall, lr, eval.extra());
      for (RoundListener l : listeners) {
        l.onRound(m, current);
      }
      if (stopRule != null && stopRule.stop(m)) {
        break;
      }
    }
    return current;
  }

  private static MultiLayerNetwork runOnGraftAveraging(SparkSession spark, JavaSparkContext sc, MultiLayerNetwork network,
      Function<Integer, JavaRDD<DataSet>> trainForRound, long trainCount, Function<MultiLayerNetwork, DistributedEvaluator.Result> evaluate,
      Spec spec, List<RoundListener> listeners, StopRule stopRule) throws Exception {
    SyncAveraging engine = new SyncAveraging(network, spec.training().averagingFrequency(), spec.training().seed()).sync(spec.training().sync());
    String label = spec.stage() == null ? spec.job() : spec.job() + " " + spec.stage();
    JavaRDD<DataSet> lastSource = null;
    JavaRDD<MultiDataSet> batches = null;
    try {
      for (int round = spec.firstRound(); round <= spec.lastRound(); round++) {
        GraftSpark.jobGroup(spark, "graft-" + spec.job(), label + " round " + round + "/" + spec.totalRounds());
        JavaRDD<DataSet> data = trainForRound.apply(round);
        if (data != lastSource) {
          if (batches != null) {
            batches.unpersist(false);
          }
          batches = data.map(ds -> (MultiDataSet) new org.nd4j.linalg.dataset.MultiDataSet(ds.getFeatures(),
              ds.getLabels())).persist(StorageLevel.MEMORY_ONLY());
          lastSource = data;
        }
        double lr = network.getLearningRate(network.getnLayers() - 1) == null ? Double.NaN : network.getLearningRate(network.getnLayers() - 1);
        SyncAveraging.RoundFit fit = engine.fitRound(sc, batches, round, 0, 0, null, null);
        GraftSpark.jobGroup(spark, "graft-" + spec.job(), label + " round " + round + "/" + spec.totalRounds() + ": evaluation");
        DistributedEvaluator.Result eval = evaluate.apply(network);
        RoundMetrics m = new RoundMetrics(round, spec.totalRounds(), spec.stage(), spec.evalSet(), fit.meanLoss(), eval.loss(),
            eval.accuracy(), trainCount, trainCount / fit.wallSeconds(), fit.wallSeconds(), lr, eval.extra());
        for (RoundListener l : listeners) {
          l.onRound(m, network);
        }
        if (stopRule != null && stopRule.stop(m)) {
          break;
        }
      }
    } finally {
      if (batches != null) {
        batches.unpersist(false);
      }
    }
    return network;
  }
}

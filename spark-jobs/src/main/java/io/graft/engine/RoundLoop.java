package io.graft.engine;

import io.graft.config.TrainingConfig;
import io.graft.spark.GraftSpark;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;

/**
 * The round loop every training job runs: each round a {@link Trainer} fits the network on the
 * executors (dl4j-spark's parameter averaging or Graft's own) and evaluates the averaged network,
 * then listeners (progress, checkpoints, metrics, early stopping) see the round's
 * {@link RoundMetrics}. Rounds are numbered globally across stages. Pre-training and fine-tuning
 * train one network, a {@code MultiLayerNetwork} or a {@code ComputationGraph}, on minibatches
 * ({@link #run(SparkSession, Model, Function, long, Function, Spec, List, StopRule)}); the
 * shared-trunk stages bring their own trainer for a multi-output {@code ComputationGraph}.
 */
public final class RoundLoop {
  private RoundLoop() {}

  /** One round of training and evaluation on the driver, and the network it leaves. */
  public interface Trainer<N extends Model> extends AutoCloseable {
    /** Trains round {@code round} on the executors, evaluates, and says what the round measured. */
    RoundMetrics round(int round) throws Exception;

    /** The network after the last round. */
    N network();

    /** Releases what the trainer cached (nothing by default). */
    @Override
    default void close() {}
  }

  /** Decides after a round whether to stop the stretch early (early stopping). */
  @FunctionalInterface
  public interface StopRule {
    boolean stop(RoundMetrics metrics);
  }

  /**
   * Runs rounds {@code firstRound..lastRound} of {@code totalRounds} and returns the trained
   * network; the trainer, and every listener that is {@link AutoCloseable}, is closed at the end.
   */
  public static <N extends Model> N run(Trainer<N> trainer, int firstRound, int lastRound, int totalRounds, List<RoundListener> listeners,
      StopRule stopRule) throws Exception {
    try (trainer) {
      return rounds(trainer, firstRound, lastRound, totalRounds, listeners, stopRule);
    } finally {
      for (RoundListener l : listeners) {
        if (l instanceof AutoCloseable c) {
          c.close();
        }
      }
    }
  }

  private static <N extends Model> N rounds(Trainer<N> trainer, int firstRound, int lastRound, int totalRounds, List<RoundListener> listeners,
      StopRule stopRule) throws Exception {
    for (int round = firstRound; round <= lastRound; round++) {
      for (RoundListener l : listeners) {
        l.onRoundStart(round, totalRounds);
      }
      RoundMetrics m = trainer.round(round);
      for (RoundListener l : listeners) {
        l.onRound(m, trainer.network());
      }
      if (stopRule != null && stopRule.stop(m)) {
        break;
      }
    }
    return trainer.network();
  }

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

    String label() {
      return stage == null ? job : job + " " + stage;
    }
  }

  /**
   * Runs rounds {@code spec.firstRound..spec.lastRound} of one network on minibatches and returns
   * the trained network.
   *
   * @param trainForRound the training minibatches of a round (the same RDD every round unless
   *     the data are augmented per round)
   */
  public static <N extends Model> N run(SparkSession spark, N network, Function<Integer, JavaRDD<DataSet>> trainForRound,
      long trainCount, Function<N, DistributedEvaluator.Result> evaluate, Spec spec, List<RoundListener> listeners,
      StopRule stopRule) throws Exception {
    Trainer<N> trainer = spec.graftAveraging()
        ? new GraftAveraged<>(spark, network, trainForRound, trainCount, evaluate, spec)
        : new Dl4jSpark<>(spark, network, trainForRound, trainCount, evaluate, spec);
    return run(trainer, spec.firstRound(), spec.lastRound(), spec.totalRounds(), listeners, stopRule);
  }

  /**
   * Rounds of one network on minibatches: each round names its Spark job group, fits the round's
   * minibatches on the executors ({@link #fit}), and evaluates the averaged network.
   */
  private abstract static class OnMinibatches<N extends Model> implements Trainer<N> {
    private final SparkSession spark;
    private final Function<Integer, JavaRDD<DataSet>> trainForRound;
    private final long trainCount;
    private final Function<N, DistributedEvaluator.Result> evaluate;
    private final Spec spec;

    OnMinibatches(SparkSession spark, Function<Integer, JavaRDD<DataSet>> trainForRound, long trainCount,
        Function<N, DistributedEvaluator.Result> evaluate, Spec spec) {
      this.spark = spark;
      this.trainForRound = trainForRound;
      this.trainCount = trainCount;
      this.evaluate = evaluate;
      this.spec = spec;
    }

    /** Fits one round's minibatches; {@link #network()} is the averaged network afterwards. */
    abstract Fit fit(int round, JavaRDD<DataSet> data) throws Exception;

    @Override
    public RoundMetrics round(int round) throws Exception {
      String name = spec.label() + " round " + round + "/" + spec.totalRounds();
      GraftSpark.jobGroup(spark, "graft-" + spec.job(), name);
      JavaRDD<DataSet> data = trainForRound.apply(round);
      Double lr = outputLearningRate(network());
      Fit fit = fit(round, data);
      GraftSpark.jobGroup(spark, "graft-" + spec.job(), name + ": evaluation");
      DistributedEvaluator.Result eval = evaluate.apply(network());
      Map<String, Double> extra = new LinkedHashMap<>(eval.extra());
      extra.putAll(fit.taskShares());
      return new RoundMetrics(round, spec.totalRounds(), spec.stage(), spec.evalSet(), fit.trainLoss(), eval.loss(), eval.accuracy(),
          trainCount, trainCount / fit.wallSeconds(), fit.wallSeconds(), lr == null ? Double.NaN : lr, extra);
    }
  }

  /** The learning rate of the network's output layer (the last layer, or a graph's first output), null without one. */
  static Double outputLearningRate(Model network) {
    return network instanceof ComputationGraph g ? g.getLearningRate(g.getConfiguration().getNetworkOutputs().get(0))
        : ((MultiLayerNetwork) network).getLearningRate(((MultiLayerNetwork) network).getnLayers() - 1);
  }

  /** What fitting one round's minibatches measured; {@code taskShares} as {@link SyncAveraging.RoundFit#taskShares}. */
  private record Fit(double trainLoss, double wallSeconds, Map<String, Double> taskShares) {}

  /** Rounds on dl4j-spark's ParameterAveragingTrainingMaster: {@code SparkDl4jMultiLayer} or {@code SparkComputationGraph}. */
  private static final class Dl4jSpark<N extends Model> extends OnMinibatches<N> {
    private final SparkDl4jMultiLayer sparkNet;
    private final SparkComputationGraph sparkGraph;
    private final Class<N> type;
    private N current;

    @SuppressWarnings("unchecked")
    Dl4jSpark(SparkSession spark, N network, Function<Integer, JavaRDD<DataSet>> trainForRound, long trainCount,
        Function<N, DistributedEvaluator.Result> evaluate, Spec spec) {
      super(spark, trainForRound, trainCount, evaluate, spec);
      long rngSeed = spec.training().seed() + 7919L * spec.firstRound();
      JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
      ParameterAveragingTrainingMaster master = ParameterAveraging.trainingMaster(spec.training(), spec.workers(),
          new Path(spec.workDir(), "export").toString(), rngSeed);
      this.sparkNet = network instanceof MultiLayerNetwork m ? new SparkDl4jMultiLayer(sc, m, master) : null;
      this.sparkGraph = network instanceof ComputationGraph g ? new SparkComputationGraph(sc, g, master) : null;
      this.type = (Class<N>) network.getClass();
      this.current = network;
    }

    @Override
    Fit fit(int round, JavaRDD<DataSet> data) {
      long t0 = System.nanoTime();
      if (sparkNet != null) {
        sparkNet.fit(data);
        current = type.cast(sparkNet.getNetwork());
      } else {
        sparkGraph.fit(data);
        current = type.cast(sparkGraph.getNetwork());
      }
      double wall = (System.nanoTime() - t0) / 1e9;
      return new Fit(sparkNet != null ? sparkNet.getScore() : sparkGraph.getScore(), wall, Map.of());
    }

    @Override
    public N network() {
      return current;
    }
  }

  /** Rounds on Graft's own averaging ({@link SyncAveraging}), which keeps a network per executor. */
  private static final class GraftAveraged<N extends Model> extends OnMinibatches<N> {
    private final JavaSparkContext sc;
    private final N network;
    private final SyncAveraging engine;
    private JavaRDD<DataSet> lastSource;
    private JavaRDD<MultiDataSet> batches;

    GraftAveraged(SparkSession spark, N network, Function<Integer, JavaRDD<DataSet>> trainForRound, long trainCount,
        Function<N, DistributedEvaluator.Result> evaluate, Spec spec) {
      super(spark, trainForRound, trainCount, evaluate, spec);
      this.sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
      this.network = network;
      this.engine = new SyncAveraging(network, spec.training().averagingFrequency(), spec.training().seed()).sync(spec.training().sync());
    }

    @Override
    Fit fit(int round, JavaRDD<DataSet> data) throws Exception {
      if (data != lastSource) {
        close();
        batches = data.map(ds -> (MultiDataSet) new org.nd4j.linalg.dataset.MultiDataSet(ds.getFeatures(), ds.getLabels()))
            .persist(StorageLevel.MEMORY_ONLY());
        lastSource = data;
      }
      SyncAveraging.RoundFit fit = engine.fitRound(sc, batches, round, 0, 0, null, null);
      return new Fit(fit.meanLoss(), fit.wallSeconds(), fit.taskShares());
    }

    @Override
    public N network() {
      return network;
    }

    @Override
    public void close() {
      if (batches != null) {
        batches.unpersist(false);
        batches = null;
      }
    }
  }
}

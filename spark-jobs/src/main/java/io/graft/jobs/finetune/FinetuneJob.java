package io.graft.jobs.finetune;


import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.graft.config.TrainingConfig;
import io.graft.data.Augmentation;
import io.graft.engine.AugmentBatch;
import io.graft.engine.DistributedEvaluator;
import io.graft.engine.JobOptions;
import io.graft.engine.ParameterAveraging;
import io.graft.engine.RoundListener;
import io.graft.engine.RoundLoop;
import io.graft.engine.RoundMetrics;
import io.graft.engine.TrainingRun;
import io.graft.jobs.Job;
import io.graft.jobs.JobMain;
import io.graft.jobs.JobResult;
import io.graft.jobs.finetune.FinetuneConfig.ScheduleConfig;
import io.graft.jobs.finetune.FinetuneConfig.StageConfig;
import io.graft.schedule.LrSchedule;
import io.graft.spark.GraftSpark;
import io.graft.store.Provenance;
import io.graft.store.Storage;
import io.graft.surgery.StageNetwork;
import io.graft.surgery.Surgery;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.IntStream;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.IUpdater;

/**
 * {@code graft finetune}: loads a pretrained model, performs surgery (new head, added layers,
 * adapters) and trains it on a target dataset in stages through Spark parameter averaging.
 * Stages freeze a prefix of the layers, give each trainable layer its own learning rate
 * (discriminative rates, schedules) and, when the trainable part sits on a frozen base and the
 * data are not augmented, train on the base's outputs computed once and cached in Spark.
 * Every round is validated, checkpointed and logged; the best round's model is kept when early
 * stopping is on; the test set is scored once at the end.
 */
public final class FinetuneJob {
  public static final String MODEL_FILE = "model.zip";
  private static final String BEST_FILE = "best.zip";
  private static final ObjectMapper JSON = new ObjectMapper();

  private FinetuneJob() {}

  /** {@code graft finetune}: dl4j-spark's limits, the inputs and the surgery checked before Spark starts. */
  public static final Job<FinetuneConfig> JOB = Job.planned("finetune", FinetuneConfig.class, (config, env, resume) -> {
    ParameterAveraging.requireSupported(config.training(), env.sparkConf(), env.storage().conf());
    return FinetunePlan.of(config, env.storage(), resume);
  }, (config, plan, context) -> run(config, plan, context.spark(), context.options()));

  /** Entry point for {@code spark-submit --class io.graft.jobs.finetune.FinetuneJob}: the options of {@code graft finetune}. */
  public static void main(String[] args) {
    System.exit(JobMain.run(JOB, args));
  }

  /** A resolved stage: which layers train and at what rate. */
  public record Stage(StageConfig config, int lowestTrainable, Set<Integer> alsoTrainable, double learningRate, ScheduleConfig schedule) {}

  /** What one stage did. */
  public record StageReport(String name, String trainFrom, int plannedRounds, int roundsRun, double learningRate, double alpha,
      long trainableParameters, long totalParameters, boolean cachedFeatures, double featurizeSeconds, double meanRoundSeconds) {}

  /** What a finished run produced. */
  public record Result(String output, double testAccuracy, double testLoss, double bestValAccuracy, int bestRound,
      List<RoundMetrics> history, List<StageReport> stages, long trainRows, long valRows, long testRows, double wallSeconds)
      implements JobResult {
    @Override
    public List<String> lines() {
      return List.of(String.format("test_accuracy=%.4f", testAccuracy));
    }
  }

  /** Validates config, source model and datasets without starting Spark. */
  public static void validate(FinetuneConfig config, Storage storage, boolean resume) throws IOException {
    FinetunePlan.of(config, storage, resume);
  }

  /** Plans and runs the job on {@code spark}. */
  public static Result run(FinetuneConfig config, SparkSession spark, JobOptions options) throws Exception {
    return run(config, FinetunePlan.of(config, new Storage(spark.sparkContext().hadoopConfiguration()), options.resume()), spark, options);
  }

  /** Runs a plan made against the session's Hadoop configuration. */
  static Result run(FinetuneConfig config, FinetunePlan plan, SparkSession spark, JobOptions options) throws Exception {
    long started = System.nanoTime();
    Consumer<String> log = options.log();
    Storage storage = new Storage(spark.sparkContext().hadoopConfiguration());
    FinetuneData data = FinetuneData.prepare(config, plan, spark, storage);
    if (plan.graph() != null) {
      return GraphFinetune.run(config, plan, data, spark, options, started);
    }
    TrainingConfig training = config.training();
    JavaSparkContext sc = data.sc();
    JavaRDD<DataSet> trainBatches = data.train();
    JavaRDD<DataSet> valBatches = data.validation();
    long trainCount = data.trainCount();
    long itersPerEpoch = data.itersPerEpoch();
    int workers = data.workers();
    log.accept(data.describe(config, plan, plan.stages().size()));
    List<String> projection = Surgery.selfSupervisedHead(plan.source().network());
    if (!projection.isEmpty()) {
      log.accept("" + config.source() + " is a contrastive encoder; its projection head (" + String.join(", ", projection)
          + ", output) is dropped before the new head");
    }

    int totalRounds = plan.stages().stream().mapToInt(s -> s.config().epochs()).sum();
    TrainingRun run = new TrainingRun("finetune", storage, plan.output(), plan.checkpoints(), training.seed(), config, log);
    // Stages build their own networks from the working one; a resumed run continues its stage's network.
    MultiLayerNetwork resumedStageNet = run.start(options.resume(), () -> null, MultiLayerNetwork.class);
    MultiLayerNetwork working = plan.base();
    int round = run.startRound();
    StageRounds rounds = StageRounds.start(run, options.resume(), log);
    if (options.resume()) {
      working = Surgery.unfrozen(resumedStageNet);
    }
    List<RoundMetrics> history = run.history();

    List<StageReport> reports = new ArrayList<>();
    try {
      for (int si = rounds.startStage; si < plan.stages().size(); si++) {
        Stage stage = plan.stages().get(si);
        int skip = rounds.skip(si);
        if (skip >= stage.config().epochs()) {
          continue;
        }
        MultiLayerNetwork stageNet = si == rounds.startStage && resumedStageNet != null ? resumedStageNet : stageNetwork(working, stage, config, itersPerEpoch);
        resumedStageNet = null;
        long[] counts = Surgery.trainableAndTotal(stageNet);
        boolean cache = stage.config().cacheFeatures() && stage.alsoTrainable().isEmpty() && stage.lowestTrainable() > 0;
        MultiLayerNetwork built = stageNet;
        if (cache && !IntStream.range(0, stage.lowestTrainable()).allMatch(i -> Surgery.isFrozen(built.getLayerWiseConfigurations().getConf(i)
            .getLayer()))) {
          log.accept("stage " + stage.config().name() + ": batch norm trains below '" + stage.config().trainFrom() + "' (surgery.freezeBatchNorm: "
              + "false), so the base's outputs change every step; training through it");
          cache = false;
        }
        if (cache && config.augmentation().enabled()) {
          log.accept("stage " + stage.config().name() + ": augmentation changes the inputs every round, so the frozen base's outputs "
              + "cannot be cached; training through the frozen base");
          cache = false;
        }
        int k = stage.lowestTrainable();
        double featurizeSeconds = 0;
        JavaRDD<DataSet> stageTrain = trainBatches;
        JavaRDD<DataSet> stageVal = valBatches;
        MultiLayerNetwork trained = stageNet;
        if (cache) {
          long t0 = System.nanoTime();
          GraftSpark.jobGroup(spark, "graft-finetune", "finetune " + stage.config().name() + ": caching the frozen base's outputs");
          stageTrain = FrozenBaseOutputs.belowLayer(sc, stageNet, k, trainBatches);
          stageVal = FrozenBaseOutputs.belowLayer(sc, stageNet, k, valBatches);
          stageTrain.count();
          stageVal.count();
          featurizeSeconds = (System.nanoTime() - t0) / 1e9;
          trained = Surgery.suffix(stageNet, k);
          log.accept(String.format("stage %s: frozen base's outputs (layers below '%s') cached in %.1f s; training %d of %d parameters on them",
              stage.config().name(), Surgery.layerNames(stageNet).get(k), featurizeSeconds, counts[0], counts[1]));
        } else {
          log.accept(String.format("stage %s: training %,d of %,d parameters (%.1f%%) from layer '%s'", stage.config().name(), counts[0],
              counts[1], 100.0 * counts[0] / counts[1], Surgery.layerNames(stageNet).get(k)));
        }
        MultiLayerNetwork fullNet = stageNet;
        int offset = cache ? k : 0;
        Function<MultiLayerNetwork, MultiLayerNetwork> toFull = net -> {
          if (offset > 0) {
            Surgery.copyLayers(net, 0, fullNet, offset, net.getnLayers());
            return fullNet;
          }
          return net;
        };
        int firstRound = round + 1;
        rounds.beginStage(si);
        List<RoundListener> listeners = new ArrayList<>();
        listeners.add(rounds.listener(config.earlyStopping() == null ? null
            : net -> plan.checkpoints().saveNetwork(BEST_FILE, Surgery.unfrozen(toFull.apply((MultiLayerNetwork) net)))));
        listeners.addAll(run.listeners(spark, options, net -> toFull.apply((MultiLayerNetwork) net), rounds.state()));
        Augmentation aug = config.augmentation();
        int[] shape = plan.train().featureShape();
        JavaRDD<DataSet> base = stageTrain;
        Function<Integer, JavaRDD<DataSet>> perRound = aug.enabled() && !cache
            ? r -> base.map(new AugmentBatch(aug, shape, training.seed() * 31 + r))
            : r -> base;
        JavaRDD<DataSet> evalOn = stageVal;
        RoundLoop.Spec spec = new RoundLoop.Spec("finetune", stage.config().name(), firstRound, firstRound + stage.config().epochs() - skip - 1,
            totalRounds, "val", training, workers, run.workDir());
        // A head on cached features is small: dl4j-spark's per-split cost (rebuilding the network, exporting batches) would dominate.
        trained = RoundLoop.run(spark, trained, perRound, trainCount, net -> DistributedEvaluator.evaluate(sc, net, evalOn),
            cache ? spec.withGraftAveraging() : spec, listeners, rounds.stop(config));
        round = history.isEmpty() ? round : history.get(history.size() - 1).round();
        MultiLayerNetwork full = toFull.apply(trained);
        working = Surgery.unfrozen(full);
        if (cache) {
          stageTrain.unpersist(false);
          stageVal.unpersist(false);
        }
        reports.add(new StageReport(stage.config().name(), stage.config().trainFrom(), stage.config().epochs(), rounds.roundsInStage(),
            stage.learningRate(), stage.config().alpha(), counts[0], counts[1], cache, featurizeSeconds, rounds.meanRoundSeconds()));
      }
    } finally {
      data.unpersistTraining();
    }

    MultiLayerNetwork finalNet = working;
    if (config.earlyStopping() != null && storage.exists(new Path(plan.checkpoints().dir(), BEST_FILE))) {
      finalNet = plan.checkpoints().loadNetwork(BEST_FILE);
      log.accept(String.format("early stopping: keeping round %d's model (validation accuracy %.2f%%)", rounds.bestRound(), 100 * rounds.best()));
    }
    return finish(config, plan, data, run, finalNet, Surgery.layerNames(finalNet), rounds.best(), rounds.bestRound(), reports, spark, log, started);
  }

  /** Scores the final network on the test set once, writes it with its provenance, and reports. */
  static Result finish(FinetuneConfig config, FinetunePlan plan, FinetuneData data, TrainingRun run, Model finalNet, List<String> layers,
      double best, int bestRound, List<StageReport> reports, SparkSession spark, Consumer<String> log, long started) throws IOException {
    Storage storage = new Storage(spark.sparkContext().hadoopConfiguration());
    GraftSpark.jobGroup(spark, "graft-finetune", "finetune: test evaluation");
    DistributedEvaluator.Result test = DistributedEvaluator.evaluate(data.sc(), finalNet, data.test());
    if (data.labelled() != null) {
      data.labelled().unpersist(false);
    }
    double wall = (System.nanoTime() - started) / 1e9;

    Provenance provenance = run.provenance();
    provenance.input("train", storage.qualify(storage.path(config.data().train())).toString(), data.trainCount(),
        JSON.valueToTree(plan.train().sources()));
    provenance.input("validation", "split of train", data.valCount(), null);
    provenance.input("test", storage.qualify(storage.path(config.data().test())).toString(), test.count(),
        JSON.valueToTree(plan.test().sources()));
    ObjectNode sourceNode = JSON.createObjectNode();
    sourceNode.put("uri", config.source());
    sourceNode.set("provenance", plan.sourceProvenance() == null ? null : JSON.readTree(plan.sourceProvenance()));
    provenance.put("source", sourceNode);
    Map<String, Object> metrics = new LinkedHashMap<>();
    metrics.put("test_accuracy", test.accuracy());
    metrics.put("test_loss", test.loss());
    metrics.put("best_val_accuracy", best);
    metrics.put("best_round", bestRound);
    metrics.put("wall_s", wall);
    provenance.metrics(run.summary(metrics));
    provenance.put("stages", reports);
    provenance.put("skippedRows", data.skippedRows());
    provenance.put("model", Map.of("layers", layers, "parameters", finalNet.numParams(),
        "numClasses", plan.train().numClasses(), "classNames", plan.train().classNames(), "featureShape", plan.train().featureShape()));
    run.publish(Map.of(MODEL_FILE, new TrainingRun.Saved(finalNet, false)), provenance);
    log.accept(String.format("test accuracy %.2f%% (%,d test rows); model written to %s", 100 * test.accuracy(), test.count(),
        new Path(plan.output(), MODEL_FILE)));
    return new Result(plan.output().toString(), test.accuracy(), test.loss(), best, bestRound, run.history(), reports, data.trainCount(),
        data.valCount(), test.count(), wall);
  }

  /**
   * The updater of parameter group {@code level} of {@code numGroups} in a stage: the stage's rate times
   * alpha^(numGroups - level) (discriminative rates; the top group at the full rate), under the stage's schedule.
   */
  static IUpdater groupUpdater(FinetuneConfig config, ScheduleConfig sc, double stageRate, double alpha, int level, int numGroups,
      long itersPerEpoch, int epochs) {
    double rate = stageRate * Math.pow(alpha, numGroups - level);
    if (sc.kind() == LrSchedule.Kind.CONSTANT && sc.warmupEpochs() == 0) {
      return config.optimizer().toUpdater(rate);
    }
    return config.optimizer().toUpdater(new LrSchedule(sc.kind(), rate, itersPerEpoch * epochs, Math.round(sc.warmupEpochs() * itersPerEpoch),
        Math.round(sc.stepEpochs() * itersPerEpoch), sc.gamma(), sc.minFactor()));
  }

  /** The stage's network: frozen prefix, per-layer (discriminative, scheduled) updaters, regularisation. */
  static MultiLayerNetwork stageNetwork(MultiLayerNetwork working, Stage stage, FinetuneConfig config, long itersPerEpoch) {
    List<Integer> groups = Surgery.parameterLayers(working);
    int numGroups = groups.size();
    StageNetwork.Plan plan = new StageNetwork.Plan(stage.lowestTrainable(), stage.alsoTrainable(), layer -> {
      int g = groups.indexOf(layer);
      return groupUpdater(config, stage.schedule(), stage.learningRate(), stage.config().alpha(), g < 0 ? numGroups : g + 1, numGroups,
          itersPerEpoch, stage.config().epochs());
    }, config.optimizer().weightDecay(), 0.0, config.surgery().freezeBatchNorm());
    return StageNetwork.build(working, plan);
  }
}

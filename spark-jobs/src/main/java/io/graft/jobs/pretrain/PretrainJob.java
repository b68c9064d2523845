package io.graft.jobs.pretrain;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.graft.config.ConfigException;
import io.graft.config.TrainingConfig;
import io.graft.data.Augmentation;
import io.graft.engine.AugmentBatch;
import io.graft.engine.DistributedEvaluator;
import io.graft.engine.JobOptions;
import io.graft.engine.ParameterAveraging;
import io.graft.engine.RoundLoop;
import io.graft.engine.RoundMetrics;
import io.graft.engine.TrainingRun;
import io.graft.jobs.Job;
import io.graft.jobs.JobMain;
import io.graft.jobs.JobResult;
import io.graft.selfsup.Objective;
import io.graft.spark.GraftDatasets;
import io.graft.spark.GraftSpark;
import io.graft.store.Provenance;
import io.graft.store.Storage;
import io.graft.surgery.Surgery;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Function;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.dataset.DataSet;

/**
 * {@code graft pretrain}: trains a named architecture on a Graft dataset with dl4j-spark
 * parameter averaging, one round per epoch. After each round it evaluates on the held-out set,
 * logs progress and writes a checkpoint; at the end it writes {@code model.zip} (plain DL4J,
 * updater included), {@code metrics.jsonl} and {@code provenance.json} to the output, each
 * atomically.
 */
public final class PretrainJob {
  public static final String MODEL_FILE = "model.zip";
  private static final ObjectMapper JSON = new ObjectMapper();

  private PretrainJob() {}

  /** {@code graft pretrain}: dl4j-spark's limits and the inputs checked before Spark starts. */
  public static final Job<PretrainConfig> JOB = Job.planned("pretrain", PretrainConfig.class, (config, env, resume) -> {
    ParameterAveraging.requireSupported(config.training(), env.sparkConf(), env.storage().conf());
    return PretrainPlan.of(config, env.storage(), resume);
  }, (config, plan, context) -> run(config, plan, context.spark(), context.options()));

  /** Entry point for {@code spark-submit --class io.graft.jobs.pretrain.PretrainJob}: the same options as {@code graft pretrain}. */
  public static void main(String[] args) {
    System.exit(JobMain.run(JOB, args));
  }

  /** What a finished run produced; {@code engine} is the averaging that trained it: {@code graft} or {@code dl4j-spark}. */
  public record Result(String output, double testAccuracy, double testLoss, int rounds, int resumedFromRound,
      List<RoundMetrics> history, long trainRows, long testRows, double probeAccuracyAtInit, String engine) implements JobResult {
    @Override
    public List<String> lines() {
      List<String> lines = new ArrayList<>();
      if (!Double.isNaN(testAccuracy)) {
        lines.add(String.format("test_accuracy=%.4f", testAccuracy));
      }
      if (!Double.isNaN(testLoss) && Double.isNaN(testAccuracy)) {
        lines.add(String.format("test_loss=%.4f", testLoss));
      }
      history.get(history.size() - 1).extra().forEach((k, v) -> lines.add(String.format("%s=%.4f", k, v)));
      if (!Double.isNaN(probeAccuracyAtInit)) {
        lines.add(String.format("probe_accuracy_at_init=%.4f", probeAccuracyAtInit));
      }
      return lines;
    }
  }

  /** Validates the config and inputs without starting Spark; throws {@link ConfigException}. */
  public static void validate(PretrainConfig config, Storage storage, boolean resume) throws IOException {
    PretrainPlan.of(config, storage, resume);
  }

  /** Plans and runs the job on {@code spark}. */
  public static Result run(PretrainConfig config, SparkSession spark, JobOptions options) throws Exception {
    return run(config, PretrainPlan.of(config, new Storage(spark.sparkContext().hadoopConfiguration()), options.resume()), spark, options);
  }

  /** Runs a plan made against the session's Hadoop configuration. */
  static Result run(PretrainConfig config, PretrainPlan plan, SparkSession spark, JobOptions options) throws Exception {
    Consumer<String> log = options.log();
    Storage storage = new Storage(spark.sparkContext().hadoopConfiguration());
    TrainingConfig training = config.training();
    ParameterAveraging.requireSupported(training, spark.sparkContext());
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    int numClasses = plan.train().numClasses();
    int numFeatures = plan.train().numFeatures();

    Objective objective = config.objective();
    Data data = objective.selfSupervised() ? selfSupervisedData(config, plan, spark, storage, sc, log)
        : supervisedData(config, spark, storage, sc, numFeatures, numClasses, log);
    int workers = data.workers();
    long trainCount = data.trainCount();
    long testCount = data.testCount();
    long skipped = data.skipped();
    TrainingRun run = new TrainingRun("pretrain", storage, plan.output(), plan.checkpoints(), training.seed(), config, log);
    Model network = plan.graphConf() != null
        ? run.start(options.resume(), () -> (ComputationGraph) plan.newNetwork(), ComputationGraph.class)
        : run.start(options.resume(), () -> (MultiLayerNetwork) plan.newNetwork(), MultiLayerNetwork.class);
    int startRound = run.startRound();
    int rounds = training.epochs();
    LinearProbe probe = null;
    String engine;
    double probeAtInit = Double.NaN;
    try {
      Function<Model, DistributedEvaluator.Result> evaluate = data.evaluate();
      if (config.probe() != null) {
        GraftSpark.jobGroup(spark, "graft-pretrain", "pretrain: sampling the probe's labelled rows");
        probe = new LinearProbe(spark, storage, config.probe(), config.probeTest(), training.seed());
        log.accept(String.format("probe: logistic regression on layer '%s', %,d labelled rows, scored on %,d test rows",
            plan.probeLayer(), probe.trainRows, probe.testRows));
        if (startRound == 0) {
          probeAtInit = probe.accuracy(network, plan.probeLayer());
          log.accept(String.format("probe: %.2f%% on the initial (random) encoder", 100 * probeAtInit));
        }
        evaluate = withProbe(evaluate, probe, plan.probeLayer(), config.probe().every(), startRound, rounds);
      }
      RoundLoop.Spec spec = new RoundLoop.Spec("pretrain", null, startRound + 1, rounds, rounds, "test", training, workers, run.workDir());
      if (objective.kind() == Objective.Kind.CONTRASTIVE && !spec.graftAveraging()) {
        log.accept("contrastive minibatches are trained on Graft's averaging (training.engine graft): dl4j-spark re-splits "
            + "minibatches to its batch size, which can separate the two views of an example");
        spec = spec.withGraftAveraging();
      }
      engine = spec.graftAveraging() ? "graft" : "dl4j-spark";
      network = RoundLoop.run(spark, network, data.trainForRound(), trainCount, evaluate, spec, run.listeners(spark, options), null);
    } finally {
      if (probe != null) {
        probe.close();
      }
      data.release().run();
    }

    List<RoundMetrics> history = run.history();
    RoundMetrics last = run.last();
    Provenance provenance = run.provenance();
    provenance.input("train", storage.qualify(storage.path(config.data().train())).toString(), trainCount, JSON.valueToTree(plan.train().sources()));
    provenance.input("test", config.data().test() == null ? "holdout of train" : storage.qualify(storage.path(config.data().test())).toString(),
        testCount, plan.test() == null ? null : JSON.valueToTree(plan.test().sources()));
    Map<String, Object> metrics = new LinkedHashMap<>();
    if (!Double.isNaN(last.evalAccuracy())) {
      metrics.put("test_accuracy", last.evalAccuracy());
    }
    metrics.put("test_loss", last.evalLoss());
    metrics.putAll(last.extra());
    if (!Double.isNaN(probeAtInit)) {
      metrics.put("probe_accuracy_at_init", probeAtInit);
    }
    metrics.put("train_loss", last.trainLoss());
    metrics.put("rounds", rounds);
    metrics.put("samples_per_s", history.stream().mapToDouble(RoundMetrics::samplesPerSecond).average().orElse(0));
    provenance.metrics(run.summary(metrics));
    provenance.put("skippedRows", skipped);
    Map<String, Object> model = new LinkedHashMap<>();
    model.put("architecture", config.model().architecture().toString());
    model.put("objective", objective.kind().toString());
    model.put("parameters", network.numParams());
    model.put("layers", layerNames(network));
    model.put("featureShape", plan.train().featureShape());
    if (objective.selfSupervised()) {
      List<String> head = new ArrayList<>(plan.graphConf() != null ? Surgery.selfSupervisedHead(plan.graphConf())
          : Surgery.selfSupervisedHead(plan.networkConf()));
      head.add("output");
      model.put("headLayers", head);
    } else {
      model.put("numClasses", numClasses);
      model.put("classNames", plan.train().classNames());
    }
    provenance.put("model", model);
    provenance.put("cluster", Map.of("master", spark.sparkContext().master(), "workers", workers, "engine", engine));
    run.publish(Map.of(MODEL_FILE, new TrainingRun.Saved(network, true)), provenance);
    String headline = objective.selfSupervised()
        ? String.format("%s loss %.4f%s", objective.kind(), last.evalLoss(),
            last.extra().containsKey("probe_accuracy") ? String.format(", probe accuracy %.2f%%", 100 * last.extra().get("probe_accuracy")) : "")
        : String.format("test accuracy %.2f%%", 100 * last.evalAccuracy());
    log.accept(String.format("%s after %d rounds; model written to %s", headline, rounds, new Path(plan.output(), MODEL_FILE)));
    return new Result(plan.output().toString(), last.evalAccuracy(), last.evalLoss(), rounds, startRound, history, trainCount, testCount,
        probeAtInit, engine);
  }

  /**
   * The training and evaluation data of one run.
   *
   * @param trainForRound a round's training minibatches
   * @param evaluate scores the network on the held-out rows
   * @param release unpersists what the data cached
   */
  record Data(Function<Integer, JavaRDD<DataSet>> trainForRound, Function<Model, DistributedEvaluator.Result> evaluate,
      Runnable release, long trainCount, long testCount, long skipped, int workers) {}

  private static Data supervisedData(PretrainConfig config, SparkSession spark, Storage storage, JavaSparkContext sc, int numFeatures,
      int numClasses, Consumer<String> log) {
    TrainingConfig training = config.training();
    GraftSpark.jobGroup(spark, "graft-pretrain", "pretrain: checking data");
    GraftDatasets.Loaded trainData = GraftDatasets.read(spark, storage, config.data().train(), "training");
    GraftDatasets.Checked trainRows = GraftDatasets.check(trainData, numFeatures, numClasses, true, training.onBadRecord());
    GraftDatasets.Checked testRows = config.data().test() == null ? null : GraftDatasets.check(
        GraftDatasets.read(spark, storage, config.data().test(), "test"), numFeatures, numClasses, true, training.onBadRecord());
    long skipped = trainRows.skipped() + (testRows == null ? 0 : testRows.skipped());
    Dataset<Row>[] sets = trainAndHeldOut(config, trainRows.rows(), testRows == null ? null : testRows.rows(), log);
    Dataset<Row> trainSet = sets[0];
    Dataset<Row> testSet = sets[1];

    int workers = ParameterAveraging.workers(training, sc);
    JavaRDD<DataSet> trainBatches = GraftDatasets.miniBatches(trainSet.repartition(workers), training.batchSizePerWorker(), numFeatures, numClasses)
        .persist(StorageLevel.MEMORY_ONLY());
    JavaRDD<DataSet> testBatches = GraftDatasets.miniBatches(testSet, 256, numFeatures, numClasses).persist(StorageLevel.MEMORY_ONLY());
    long trainCount = GraftDatasets.countExamples(trainBatches);
    long testCount = GraftDatasets.countExamples(testBatches);
    log.accept(String.format("%s on %,d training rows, %,d test rows, %d workers, batch %d, averaging every %d, %s",
        config.model().architecture(), trainCount, testCount, workers, training.batchSizePerWorker(), training.averagingFrequency(),
        training.engine() == TrainingConfig.Engine.GRAFT ? "Graft averaging (sync " + training.sync().name().toLowerCase() + ")"
            : "dl4j-spark " + training.approach().name().toLowerCase()));
    Augmentation aug = config.augmentation();
    int[] shape = trainData.manifest().featureShape();
    long seed = training.seed();
    Function<Integer, JavaRDD<DataSet>> perRound = aug.enabled()
        ? round -> trainBatches.map(new AugmentBatch(aug, shape, seed * 31 + round))
        : round -> trainBatches;
    return new Data(perRound, net -> DistributedEvaluator.evaluate(sc, net, testBatches), () -> {
      trainBatches.unpersist(false);
      testBatches.unpersist(false);
    }, trainCount, testCount, skipped, workers);
  }

  /**
   * Unlabelled rows (only the {@code features} column is read) as per-round view pairs or
   * corrupted inputs; the held-out rows are built once, with fixed views, so rounds compare.
   */
  private static Data selfSupervisedData(PretrainConfig config, PretrainPlan plan, SparkSession spark, Storage storage, JavaSparkContext sc,
      Consumer<String> log) {
    TrainingConfig training = config.training();
    Objective objective = config.objective();
    int numFeatures = plan.train().numFeatures();
    GraftSpark.jobGroup(spark, "graft-pretrain", "pretrain: checking data");
    GraftDatasets.Checked trainRows = GraftDatasets.checkFeatures(
        GraftDatasets.readFeatures(spark, storage, config.data().train(), "training"), numFeatures, training.onBadRecord());
    GraftDatasets.Checked testRows = config.data().test() == null ? null : GraftDatasets.checkFeatures(
        GraftDatasets.readFeatures(spark, storage, config.data().test(), "test"), numFeatures, training.onBadRecord());
    long skipped = trainRows.skipped() + (testRows == null ? 0 : testRows.skipped());
    Dataset<Row>[] sets = trainAndHeldOut(config, trainRows.rows(), testRows == null ? null : testRows.rows(), log);
    Dataset<Row> trainSet = sets[0];
    Dataset<Row> testSet = sets[1];
    int workers = ParameterAveraging.workers(training, sc);
    int labelWidth = objective.kind() == Objective.Kind.CONTRASTIVE ? objective.projection().get(1) : numFeatures;
    SelfSupervisedData.Spec spec = new SelfSupervisedData.Spec(objective.kind(), config.augmentation(),
        objective.kind() == Objective.Kind.RECONSTRUCTION ? objective.corruption() : null, plan.train().featureShape(),
        training.batchSizePerWorker(), labelWidth, training.seed());
    JavaRDD<float[]> examples = SelfSupervisedData.featureArrays(trainSet.repartition(workers)).persist(StorageLevel.MEMORY_ONLY());
    // held-out batches: fixed views (round 0), at most 256 rows each, kept for the whole run
    SelfSupervisedData.Spec testSpec = new SelfSupervisedData.Spec(spec.kind(), spec.augmentation(), spec.corruption(), spec.shape(),
        Math.min(256, training.batchSizePerWorker()), labelWidth, training.seed() + 1);
    JavaRDD<DataSet> testBatches = SelfSupervisedData.featureArrays(testSet).mapPartitions(new SelfSupervisedData.Batches(testSpec, 0))
        .persist(StorageLevel.MEMORY_ONLY());
    long trainCount = examples.count();
    long testCount = GraftDatasets.countExamples(testBatches);
    boolean contrastive = objective.kind() == Objective.Kind.CONTRASTIVE;
    log.accept(String.format("%s %s on %,d unlabelled training rows (%s), %,d held-out rows, %d workers, batch %d, averaging every %d",
        objective.kind(), config.model().architecture(), trainCount, contrastive ? "2 augmented views each" : "corrupted inputs",
        contrastive ? testCount / 2 : testCount, workers,
        training.batchSizePerWorker(), training.averagingFrequency()));
    return new Data(round -> examples.mapPartitions(new SelfSupervisedData.Batches(spec, round)), net -> {
      SelfSupervisedData.Scores scores = SelfSupervisedData.evaluate(sc, net, testBatches, contrastive);
      return new DistributedEvaluator.Result(Double.NaN, scores.loss(), scores.rows(), null, SelfSupervisedData.extra(scores, Double.NaN));
    }, () -> {
      examples.unpersist(false);
      testBatches.unpersist(false);
    }, trainCount, testCount, skipped, workers);
  }

  /**
   * The training and held-out rows: {@code test} when the config names a test set, otherwise a
   * {@code data.holdoutFraction} split of {@code train}; then capped by {@code training.maxRows}
   * and {@code data.maxTestRows}.
   */
  private static Dataset<Row>[] trainAndHeldOut(PretrainConfig config, Dataset<Row> train, Dataset<Row> test, Consumer<String> log) {
    long seed = config.training().seed();
    if (test == null) {
      double f = config.data().holdoutFraction();
      GraftDatasets.Split split = GraftDatasets.holdout(train, f, seed);
      train = split.train();
      test = split.heldOut();
      log.accept(String.format("no test set: holding out %.0f%% of the training rows", 100 * f));
    }
    @SuppressWarnings("unchecked")
    Dataset<Row>[] sets = new Dataset[] {GraftDatasets.capped(train, config.training().maxRows(), seed),
        GraftDatasets.capped(test, config.data().maxTestRows(), seed + 1)};
    return sets;
  }

  /** {@code evaluate} plus the linear probe after every {@code every} rounds and the last. */
  private static Function<Model, DistributedEvaluator.Result> withProbe(Function<Model, DistributedEvaluator.Result> evaluate,
      LinearProbe probe, String layer, int every, int startRound, int lastRound) {
    AtomicInteger round = new AtomicInteger(startRound);
    return net -> {
      DistributedEvaluator.Result r = evaluate.apply(net);
      int current = round.incrementAndGet();
      if (current % every != 0 && current != lastRound) {
        return r;
      }
      Map<String, Double> extra = new LinkedHashMap<>(r.extra());
      extra.put("probe_accuracy", probe.accuracy(net, layer));
      return new DistributedEvaluator.Result(r.accuracy(), r.loss(), r.count(), r.evaluation(), extra);
    };
  }

  /** The layers of a network in order; a graph's vertices in topological order, its input left out. */
  static List<String> layerNames(Model model) {
    if (model instanceof ComputationGraph graph) {
      List<String> vertices = new ArrayList<>(graph.getConfiguration().getTopologicalOrderStr());
      vertices.removeAll(graph.getConfiguration().getNetworkInputs());
      return vertices;
    }
    MultiLayerNetwork network = (MultiLayerNetwork) model;
    List<String> names = new ArrayList<>();
    for (int i = 0; i < network.getnLayers(); i++) {
      names.add(network.getLayerWiseConfigurations().getConf(i).getLayer().getLayerName());
    }
    return names;
  }
}

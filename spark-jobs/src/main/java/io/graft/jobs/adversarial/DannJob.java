package io.graft.jobs.adversarial;

import static org.apache.spark.sql.functions.col;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.graft.adapt.SharedTrunk;
import io.graft.config.ConfigException;
import io.graft.config.TrainingConfig;
import io.graft.data.DataException;
import io.graft.data.Manifest;
import io.graft.engine.Checkpoints;
import io.graft.engine.DomainBatchNorm;
import io.graft.engine.GraphEvaluator;
import io.graft.engine.JobOptions;
import io.graft.engine.ParameterAveraging;
import io.graft.engine.RoundLoop;
import io.graft.engine.RoundMetrics;
import io.graft.engine.SyncAveraging;
import io.graft.engine.TrainingRun;
import io.graft.jobs.Job;
import io.graft.jobs.JobMain;
import io.graft.jobs.JobResult;
import io.graft.spark.GraftDatasets;
import io.graft.spark.GraftSpark;
import io.graft.spark.TaskRows;
import io.graft.spark.TaskRows.TaskRow;
import io.graft.store.Provenance;
import io.graft.store.Storage;
import java.io.IOException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.dataset.api.MultiDataSet;

/**
 * {@code graft dann}: domain-adversarial training (DANN). A shared trunk feeds a label head,
 * trained on labelled source rows, and, through a gradient-reversal layer, a domain classifier
 * trained on source and unlabelled target rows. Each minibatch is half source, half target.
 * Rounds run on {@link SyncAveraging}: the driver broadcasts the shared weights, the reversal
 * strength and the learning rate of each averaging step, executors fit their partitions, the
 * driver averages.
 *
 * <p>Writes {@code model.zip} (trunk + label head for the target domain: a plain
 * MultiLayerNetwork for a layer-stack trunk, a ComputationGraph for a graph trunk),
 * {@code graph.zip} (trunk and both heads), {@code metrics.jsonl} and
 * {@code provenance.json}; checkpoints every round.
 */
public final class DannJob {
  public static final String MODEL_FILE = "model.zip";
  public static final String GRAPH_FILE = "graph.zip";
  static final String LABEL_HEAD = "label";
  static final String DOMAIN_HEAD = "domain";
  private static final ObjectMapper JSON = new ObjectMapper();

  private DannJob() {}

  /** {@code graft dann}. */
  public static final Job<DannConfig> JOB = Job.planned("dann", DannConfig.class, (config, env, resume) -> plan(config, env.storage(), resume),
      (config, plan, context) -> run(config, plan, context.spark(), context.options(), null));

  /** Entry point for {@code spark-submit --class io.graft.jobs.adversarial.DannJob}: the same options as {@code graft dann}. */
  public static void main(String[] args) {
    System.exit(JobMain.run(JOB, args));
  }

  /** What a finished run produced. */
  public record Result(String output, double sourceAccuracy, double targetAccuracy, double domainAccuracy, int rounds,
      List<RoundMetrics> history) implements JobResult {
    @Override
    public List<String> lines() {
      return List.of(String.format("target_accuracy=%.4f source_accuracy=%.4f domain_accuracy=%.4f", targetAccuracy, sourceAccuracy,
          domainAccuracy));
    }
  }

  /** Everything checked on the driver before Spark does any work. */
  record Plan(Manifest source, Manifest target, ComputationGraph graph, Path output, Checkpoints checkpoints) {}

  static Plan plan(DannConfig config, Storage storage, boolean resume) throws IOException {
    Manifest source = GraftDatasets.manifest(storage, config.source().train(), "source");
    Manifest target = GraftDatasets.manifest(storage, config.target().train(), "target");
    requireSameInputs(source, config.source().train(), target, config.target().train());
    for (String test : new String[] {config.source().test(), config.target().test()}) {
      if (test != null) {
        Manifest m = GraftDatasets.manifest(storage, test, "test");
        requireSameInputs(source, config.source().train(), m, test);
        ConfigException.require(m.numClasses() <= source.numClasses(), "Test dataset %s has %s classes but the source %s has %s", test,
            m.numClasses(), config.source().train(), source.numClasses());
      }
    }
    ConfigException.require(target.numClasses() <= source.numClasses(),
        "Target dataset %s has %s classes but the source %s has %s (the label head predicts the source's classes)",
        config.target().train(), target.numClasses(), config.source().train(), source.numClasses());
    long seed = config.training().seed();
    Model trunkSource = SharedTrunk.source(storage, config.pretrained(), config.model(), source.featureShape(),
        source.numClasses(), config.optimizer(), seed);
    ComputationGraph graph = SharedTrunk.build(trunkSource, config.pretrained() != null, source.featureShape(),
        List.of(new SharedTrunk.Head(LABEL_HEAD, source.numClasses(), 0, false),
            new SharedTrunk.Head(DOMAIN_HEAD, 2, config.adversarial().domainHidden(), true)),
        config.optimizer(), seed);
    Path output = storage.qualify(storage.path(config.output()));
    Checkpoints checkpoints = new Checkpoints(storage, output);
    if (resume) {
      checkpoints.requireResumable(config, config.training().epochs());
    }
    return new Plan(source, target, graph, output, checkpoints);
  }

  static void requireSameInputs(Manifest a, String aUri, Manifest b, String bUri) {
    ConfigException.require(Arrays.equals(a.featureShape(), b.featureShape()),
        "Dataset %s has feature shape %s but %s has %s: both domains must share one input space (re-import with --resize)", bUri,
        Arrays.toString(b.featureShape()), aUri, Arrays.toString(a.featureShape()));
  }

  /** Validates the config and inputs without starting Spark; throws {@link ConfigException}. */
  public static void validate(DannConfig config, Storage storage, boolean resume) throws IOException {
    plan(config, storage, resume);
  }

  public static Result run(DannConfig config, SparkSession spark, JobOptions options) throws Exception {
    return run(config, spark, options, null);
  }

  /** Plans and runs the job; {@code steps} (tests) sees every averaging step's executor checksums. */
  public static Result run(DannConfig config, SparkSession spark, JobOptions options, SyncAveraging.StepListener steps) throws Exception {
    return run(config, plan(config, new Storage(spark.sparkContext().hadoopConfiguration()), options.resume()), spark, options, steps);
  }

  private static Result run(DannConfig config, Plan plan, SparkSession spark, JobOptions options, SyncAveraging.StepListener steps)
      throws Exception {
    Consumer<String> log = options.log();
    Storage storage = new Storage(spark.sparkContext().hadoopConfiguration());
    TrainingConfig training = config.training();
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    int numClasses = plan.source().numClasses();
    int numFeatures = plan.source().numFeatures();
    long seed = training.seed();

    GraftSpark.jobGroup(spark, "graft-dann", "dann: checking data");
    GraftDatasets.Split source = split(spark, storage, config.source(), "source", numFeatures, numClasses, true, training, log);
    GraftDatasets.Split target = split(spark, storage, config.target(), "target", numFeatures, numClasses, false, training, log);
    Dataset<Row> sourceTrain = GraftDatasets.capped(source.train(), training.maxRows(), seed);
    int workers = ParameterAveraging.workers(training, sc);
    JavaRDD<TaskRow> sourceRows = TaskRows.of(sourceTrain.repartition(workers), 0).persist(StorageLevel.MEMORY_ONLY());
    JavaRDD<TaskRow> targetRows = TaskRows.of(target.train().repartition(workers), 1).persist(StorageLevel.MEMORY_ONLY());
    JavaRDD<MultiDataSet> sourceEval = TaskRows.domainEvalBatches(TaskRows.of(source.heldOut(), 0), 0, numClasses).persist(StorageLevel.MEMORY_ONLY());
    JavaRDD<MultiDataSet> targetEval = TaskRows.domainEvalBatches(TaskRows.of(target.heldOut().filter(col(GraftDatasets.LABEL).geq(0)), 1), 1, numClasses)
        .persist(StorageLevel.MEMORY_ONLY());
    long sourceCount = sourceRows.count();
    long targetCount = targetRows.count();
    if (targetCount == 0) {
      throw new DataException("Target dataset " + config.target().train() + " has no rows left to train on");
    }
    DannConfig.Adversarial adv = config.adversarial();
    log.accept(String.format("%s trunk%s, %,d source rows, %,d unlabelled target rows, %d workers, batch %d (half each domain), "
        + "averaging every %d, lambda %s%s", config.pretrained() == null ? config.model().architecture() : "pretrained",
        config.pretrained() == null ? "" : " from " + config.pretrained(),
        sourceCount, targetCount, workers, training.batchSizePerWorker(), training.averagingFrequency(), adv.lambda(),
        adv.lambda() == 0 ? " (source-only baseline)" : ", gamma " + adv.gamma()));

    TrainingRun run = new TrainingRun("dann", storage, plan.output(), plan.checkpoints(), seed, config, log);
    ComputationGraph graph = run.start(options.resume(), plan::graph, ComputationGraph.class);
    int rounds = training.epochs();
    double baseRate = config.optimizer().learningRate();
    SyncAveraging engine = new SyncAveraging(graph, training.averagingFrequency(), seed).sync(training.sync());
    SyncAveraging.Schedule schedule = p -> new SyncAveraging.Knobs(adv.learningRateAt(baseRate, p), adv.lambdaAt(p));
    String evalKey = "dann-eval-" + UUID.randomUUID();
    RoundLoop.Trainer<ComputationGraph> trainer = new RoundLoop.Trainer<>() {
      @Override
      public RoundMetrics round(int round) {
        GraftSpark.jobGroup(spark, "graft-dann", "dann round " + round + "/" + rounds);
        JavaRDD<MultiDataSet> batches = TaskRows.adversarialBatches(sourceRows, targetRows, training.batchSizePerWorker(), numClasses,
            seed * 1009 + round).persist(StorageLevel.MEMORY_ONLY());
        SyncAveraging.RoundFit fit;
        try {
          fit = engine.fitRound(sc, batches, round, (round - 1.0) / rounds, (double) round / rounds, schedule, steps);
        } finally {
          batches.unpersist(false);
        }
        GraftSpark.jobGroup(spark, "graft-dann", "dann round " + round + "/" + rounds + ": evaluation");
        List<GraphEvaluator.Result> s = GraphEvaluator.evaluate(sc, graph, sourceEval, evalKey);
        List<GraphEvaluator.Result> t = GraphEvaluator.evaluate(sc, graph, targetEval, evalKey);
        return roundMetrics(round, rounds, fit, s, t);
      }

      @Override
      public ComputationGraph network() {
        return graph;
      }

      @Override
      public void close() {} // the cached rows outlive the rounds: target.adaptBatchNorm reads them after
    };
    RoundMetrics last;
    ComputationGraph served = graph;
    double targetAccuracy;
    double targetLoss;
    List<String> adapted = List.of();
    try {
      RoundLoop.run(trainer, run.startRound() + 1, rounds, rounds, run.listeners(spark, options), null);
      last = run.last();
      targetAccuracy = last.evalAccuracy();
      targetLoss = last.evalLoss();
      if (config.target().adaptBatchNorm()) {
        GraftSpark.jobGroup(spark, "graft-dann", "dann: batch norm adapted to the target");
        served = graph.clone();
        adapted = DomainBatchNorm.adapt(sc, served, targetRows.map(TaskRow::features));
        if (adapted.isEmpty()) {
          log.accept("target.adaptBatchNorm: the trunk has no batch-norm layers; the target model is the trained one");
        } else {
          GraphEvaluator.Result t = GraphEvaluator.evaluate(sc, served, targetEval, evalKey).get(0);
          log.accept(String.format("batch norm adapted to the target's %,d training rows on %d layers (AdaBN): target accuracy %.2f%% "
              + "(%.2f%% with the training statistics)", targetCount, adapted.size(), 100 * t.accuracy(), 100 * targetAccuracy));
          targetAccuracy = t.accuracy();
          targetLoss = t.loss();
        }
      }
    } finally {
      sourceRows.unpersist(false);
      targetRows.unpersist(false);
      sourceEval.unpersist(false);
      targetEval.unpersist(false);
    }
    Model labelModel = SharedTrunk.export(served, LABEL_HEAD, plan.source().featureShape());
    Provenance provenance = run.provenance();
    provenance.input("source", storage.qualify(storage.path(config.source().train())).toString(), sourceCount,
        JSON.valueToTree(plan.source().sources()));
    provenance.input("target", storage.qualify(storage.path(config.target().train())).toString(), targetCount,
        JSON.valueToTree(plan.target().sources()));
    if (config.pretrained() != null) {
      provenance.put("pretrained", config.pretrained());
    }
    Map<String, Object> metrics = new LinkedHashMap<>();
    metrics.put("source_accuracy", last.extra().get("source_accuracy"));
    metrics.put("target_accuracy", targetAccuracy);
    if (!adapted.isEmpty()) {
      metrics.put("target_accuracy_training_statistics", last.evalAccuracy());
      metrics.put("adapted_batch_norm_layers", adapted.size());
    }
    for (String k : List.of("domain_accuracy", "source_domain_accuracy", "target_domain_accuracy", "source_loss")) {
      metrics.put(k, last.extra().get(k));
    }
    metrics.put("target_loss", targetLoss);
    metrics.put("domain_loss", last.extra().get("domain_loss"));
    metrics.put("lambda", last.extra().get("lambda"));
    metrics.put("rounds", rounds);
    provenance.metrics(run.summary(metrics));
    provenance.put("model", Map.of("heads", List.of(LABEL_HEAD, DOMAIN_HEAD), "trunk", SharedTrunk.trunkLayers(graph),
        "parameters", graph.numParams(), "numClasses", numClasses, "featureShape", plan.source().featureShape(),
        "classNames", plan.source().classNames()));
    provenance.put("cluster", Map.of("master", spark.sparkContext().master(), "workers", workers));
    Map<String, TrainingRun.Saved> models = new LinkedHashMap<>();
    models.put(MODEL_FILE, new TrainingRun.Saved(labelModel, false));
    models.put(GRAPH_FILE, new TrainingRun.Saved(graph, true));
    run.publish(models, provenance);
    double sourceAccuracy = last.extra().get("source_accuracy");
    double domainAccuracy = last.extra().get("domain_accuracy");
    log.accept(String.format("target accuracy %.2f%% (source %.2f%%, domain classifier %.2f%%) after %d rounds; model written to %s",
        100 * targetAccuracy, 100 * sourceAccuracy, 100 * domainAccuracy, rounds, new Path(plan.output(), MODEL_FILE)));
    return new Result(plan.output().toString(), sourceAccuracy, targetAccuracy, domainAccuracy, rounds, run.history());
  }

  /**
   * A round's figures: the label head on the target's labelled held-out rows (the evaluated
   * set), and on the source's; the domain head per domain and balanced over the two.
   */
  private static RoundMetrics roundMetrics(int round, int rounds, SyncAveraging.RoundFit fit, List<GraphEvaluator.Result> source,
      List<GraphEvaluator.Result> target) {
    Map<String, Double> extra = new LinkedHashMap<>();
    extra.put("source_accuracy", source.get(0).accuracy());
    extra.put("source_loss", source.get(0).loss());
    // Balanced over the two domains, so chance is 50% however many held-out rows each has.
    extra.put("domain_accuracy", (source.get(1).accuracy() + target.get(1).accuracy()) / 2);
    // Per domain too: a head that calls every row one domain scores 1 and 0 here, 0.5 above.
    extra.put("source_domain_accuracy", source.get(1).accuracy());
    extra.put("target_domain_accuracy", target.get(1).accuracy());
    extra.put("domain_loss", (source.get(1).loss() + target.get(1).loss()) / 2);
    extra.put("lambda", fit.lastKnobs().reversal());
    extra.put("averaging_steps", (double) fit.steps());
    return new RoundMetrics(round, rounds, null, "target", fit.meanLoss(), target.get(0).loss(), target.get(0).accuracy(), fit.examples(),
        fit.examples() / fit.wallSeconds(), fit.wallSeconds(), fit.lastKnobs().learningRate(), extra);
  }

  /**
   * A domain's training and held-out rows: its test set, or a seeded holdout of its train set.
   * Source rows need labels; target rows need none (those without are never evaluated).
   */
  static GraftDatasets.Split split(SparkSession spark, Storage storage, DannConfig.Domain domain, String role, int numFeatures, int numClasses,
      boolean requireLabels, TrainingConfig training, Consumer<String> log) {
    GraftDatasets.Checked train = GraftDatasets.check(GraftDatasets.read(spark, storage, domain.train(), role), numFeatures, numClasses,
        requireLabels, training.onBadRecord());
    if (domain.test() != null) {
      GraftDatasets.Checked test = GraftDatasets.check(GraftDatasets.read(spark, storage, domain.test(), role + " test"), numFeatures,
          numClasses, true, training.onBadRecord());
      return new GraftDatasets.Split(train.rows(), test.rows());
    }
    if (domain.transductive()) {
      log.accept(String.format("%s is transductive: training on all of %s, unlabelled, and scoring its labelled rows", role, domain.train()));
      return new GraftDatasets.Split(train.rows(), train.rows());
    }
    long seed = domain.splitSeed() == null ? training.seed() : domain.splitSeed();
    log.accept(String.format("no %s test set: holding out %.0f%% of %s for evaluation (split seed %d)", role, 100 * domain.holdoutFraction(),
        domain.train(), seed));
    return GraftDatasets.holdout(train.rows(), domain.holdoutFraction(), seed);
  }
}

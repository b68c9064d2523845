package io.graft.jobs.adversarial;

import static org.apache.spark.sql.functions.col;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.graft.adapt.SharedTrunk;
import io.graft.config.ConfigException;
import io.graft.config.TrainingConfig;
import io.graft.data.Manifest;
import io.graft.engine.Checkpoints;
import io.graft.engine.GraphEvaluator;
import io.graft.engine.GraphRoundLoop;
import io.graft.engine.JobOptions;
import io.graft.engine.MetricsLog;
import io.graft.engine.ParameterAveraging;
import io.graft.engine.SyncAveraging;
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
import java.util.function.Consumer;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.dataset.api.MultiDataSet;

/**
 * {@code graft dann}: domain-adversarial training (DANN). A shared trunk feeds a label head,
 * trained on labelled source rows, and, through a gradient-reversal layer, a domain classifier
 * trained on source and unlabelled target rows. Each minibatch is half source, half target.
 * Rounds run on {@link SyncAveraging}: the driver broadcasts the shared weights, the reversal
 * strength and the learning rate of each averaging step, executors fit their partitions, the
 * driver averages.
 *
 * <p>Writes {@code model.zip} (trunk + label head, a plain MultiLayerNetwork for the target
 * domain), {@code graph.zip} (trunk and both heads), {@code metrics.jsonl} and
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
  public static final Job<DannConfig> JOB = Job.configured("dann", DannConfig.class,
      (config, env, resume) -> validate(config, env.storage(), resume), (config, context) -> run(config, context.spark(), context.options()));

  /** Entry point for {@code spark-submit --class io.graft.jobs.adversarial.DannJob}: the same options as {@code graft dann}. */
  public static void main(String[] args) {
    System.exit(JobMain.run(JOB, args));
  }

  /** What a finished run produced. */
  public record Result(String output, double sourceAccuracy, double targetAccuracy, double domainAccuracy, int rounds,
      List<Map<String, Object>> history) implements JobResult {
    @Override
    public List<String> lines() {
      return List.of(String.format("target_accuracy=%.4f source_accuracy=%.4f domain_accuracy=%.4f", targetAccuracy, sourceAccuracy,
          domainAccuracy));
    }
  }

  /** Everything checked on the driver before Spark does any work. */
  record Plan(Manifest source, Manifest target, MultiLayerNetwork trunkSource, ComputationGraph graph, Path output, Checkpoints checkpoints) {}

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
    MultiLayerNetwork trunkSource = SharedTrunk.source(storage, config.pretrained(), config.model(), source.featureShape(),
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
    return new Plan(source, target, trunkSource, graph, output, checkpoints);
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

  /** Runs the job; {@code steps} (tests) sees every averaging step's executor checksums. */
  public static Result run(DannConfig config, SparkSession spark, JobOptions options, SyncAveraging.StepListener steps) throws Exception {
    Consumer<String> log = options.log();
    Storage storage = new Storage(spark.sparkContext().hadoopConfiguration());
    Plan plan = plan(config, storage, options.resume());
    TrainingConfig training = config.training();
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    int numClasses = plan.source().numClasses();
    int numFeatures = plan.source().numFeatures();
    long seed = training.seed();

    GraftSpark.jobGroup(spark, "graft-dann", "dann: checking data");
    Dataset<Row>[] source = split(spark, storage, config.source(), "source", numFeatures, numClasses, true, training, log);
    Dataset<Row>[] target = split(spark, storage, config.target(), "target", numFeatures, numClasses, false, training, log);
    Dataset<Row> sourceTrain = GraftDatasets.capped(source[0], training.maxRows(), seed);
    int workers = ParameterAveraging.workers(training, sc);
    JavaRDD<TaskRow> sourceRows = TaskRows.of(sourceTrain.repartition(workers), 0).persist(StorageLevel.MEMORY_ONLY());
    JavaRDD<TaskRow> targetRows = TaskRows.of(target[0].repartition(workers), 1).persist(StorageLevel.MEMORY_ONLY());
    JavaRDD<MultiDataSet> sourceEval = TaskRows.domainEvalBatches(TaskRows.of(source[1], 0), 0, numClasses).persist(StorageLevel.MEMORY_ONLY());
    JavaRDD<MultiDataSet> targetEval = TaskRows.domainEvalBatches(TaskRows.of(target[1].filter(col(GraftDatasets.LABEL).geq(0)), 1), 1, numClasses)
        .persist(StorageLevel.MEMORY_ONLY());
    long sourceCount = sourceRows.count();
    long targetCount = targetRows.count();
    if (targetCount == 0) {
      throw new io.graft.data.DataException("Target dataset " + config.target().train() + " has no rows left to train on");
    }
    DannConfig.Adversarial adv = config.adversarial();
    log.accept(String.format("dann: %s trunk%s, %,d source rows, %,d unlabelled target rows, %d workers, batch %d (half each domain), "
        + "averaging every %d, lambda %s%s", config.model().architecture(), config.pretrained() == null ? "" : " from " + config.pretrained(),
        sourceCount, targetCount, workers, training.batchSizePerWorker(), training.averagingFrequency(), adv.lambda(),
        adv.lambda() == 0 ? " (source-only baseline)" : ", gamma " + adv.gamma()));

    GraphRoundLoop.Start start = GraphRoundLoop.start(plan.checkpoints(), plan.graph(), options.resume(), log);
    ComputationGraph graph = start.graph();
    int startRound = start.round();
    List<Map<String, Object>> history = start.history();
    int rounds = training.epochs();
    double baseRate = config.optimizer().learningRate();
    SyncAveraging engine = new SyncAveraging(graph, training.averagingFrequency(), seed).sync(training.sync());
    SyncAveraging.Schedule schedule = p -> new SyncAveraging.Knobs(adv.learningRateAt(baseRate, p), adv.lambdaAt(p));
    String evalKey = "dann-eval-" + java.util.UUID.randomUUID();
    ComputationGraph trained = graph;
    try {
      GraphRoundLoop.run(new GraphRoundLoop.Spec("dann", rounds, seed, config, storage, plan.output(), plan.checkpoints(), log), graph,
          startRound, history, round -> {
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
            List<GraphEvaluator.Result> s = GraphEvaluator.evaluate(sc, trained, sourceEval, evalKey);
            List<GraphEvaluator.Result> t = GraphEvaluator.evaluate(sc, trained, targetEval, evalKey);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("stage", "dann");
            m.put("train_loss", fit.meanLoss());
            m.put("source_accuracy", s.get(0).accuracy());
            m.put("source_loss", s.get(0).loss());
            m.put("target_accuracy", t.get(0).accuracy());
            m.put("target_loss", t.get(0).loss());
            // Balanced over the two domains, so chance is 50% however many held-out rows each has.
            m.put("domain_accuracy", (s.get(1).accuracy() + t.get(1).accuracy()) / 2);
            // Per domain too: a head that calls every row one domain scores 1 and 0 here, 0.5 above.
            m.put("source_domain_accuracy", s.get(1).accuracy());
            m.put("target_domain_accuracy", t.get(1).accuracy());
            m.put("domain_loss", (s.get(1).loss() + t.get(1).loss()) / 2);
            m.put("lambda", fit.lastKnobs().reversal());
            m.put("learning_rate", fit.lastKnobs().learningRate());
            m.put("samples", fit.examples());
            m.put("samples_per_s", fit.examples() / fit.wallSeconds());
            m.put("averaging_steps", fit.steps());
            m.put("wall_s", fit.wallSeconds());
            return m;
          }, m -> String.format("source acc %.2f%%  target acc %.2f%%  domain acc %.2f%%  lambda %.3f  lr %.2g",
              100 * (double) m.get("source_accuracy"), 100 * (double) m.get("target_accuracy"), 100 * (double) m.get("domain_accuracy"),
              (double) m.get("lambda"), (double) m.get("learning_rate")));
    } finally {
      sourceRows.unpersist(false);
      targetRows.unpersist(false);
      sourceEval.unpersist(false);
      targetEval.unpersist(false);
    }

    Map<String, Object> last = history.get(history.size() - 1);
    MultiLayerNetwork labelModel = SharedTrunk.export(trained, LABEL_HEAD, plan.source().featureShape());
    storage.writeAtomically(new Path(plan.output(), MODEL_FILE), out -> ModelSerializer.writeModel(labelModel, out, false));
    storage.writeAtomically(new Path(plan.output(), GRAPH_FILE), out -> ModelSerializer.writeModel(trained, out, true));
    MetricsLog.writeMaps(storage, plan.output(), history);
    Provenance provenance = new Provenance("dann").config(config).seed(seed);
    provenance.input("source", storage.qualify(storage.path(config.source().train())).toString(), sourceCount,
        JSON.valueToTree(plan.source().sources()));
    provenance.input("target", storage.qualify(storage.path(config.target().train())).toString(), targetCount,
        JSON.valueToTree(plan.target().sources()));
    if (config.pretrained() != null) {
      provenance.put("pretrained", config.pretrained());
    }
    Map<String, Object> metrics = new LinkedHashMap<>();
    for (String k : List.of("source_accuracy", "target_accuracy", "domain_accuracy", "source_domain_accuracy",
        "target_domain_accuracy", "source_loss", "target_loss", "domain_loss", "lambda")) {
      metrics.put(k, last.get(k));
    }
    metrics.put("rounds", rounds);
    metrics.put("wall_s", history.stream().mapToDouble(m -> ((Number) m.get("wall_s")).doubleValue()).sum());
    provenance.metrics(metrics);
    provenance.put("resumedFromRound", startRound);
    provenance.put("model", Map.of("heads", List.of(LABEL_HEAD, DOMAIN_HEAD), "trunk", SharedTrunk.trunkLayers(trained),
        "parameters", trained.numParams(), "numClasses", numClasses, "featureShape", plan.source().featureShape(),
        "classNames", plan.source().classNames()));
    provenance.put("cluster", Map.of("master", spark.sparkContext().master(), "workers", workers));
    provenance.write(storage, plan.output());
    plan.checkpoints().delete();
    log.accept(String.format("dann: target accuracy %.2f%% (source %.2f%%, domain classifier %.2f%%) after %d rounds; model written to %s",
        100 * (double) last.get("target_accuracy"), 100 * (double) last.get("source_accuracy"), 100 * (double) last.get("domain_accuracy"),
        rounds, new Path(plan.output(), MODEL_FILE)));
    return new Result(plan.output().toString(), (double) last.get("source_accuracy"), (double) last.get("target_accuracy"),
        (double) last.get("domain_accuracy"), rounds, history);
  }

  /**
   * A domain's training and held-out rows: its test set, or a seeded holdout of its train set.
   * Source rows need labels; target rows need none (those without are never evaluated).
   */
  @SuppressWarnings("unchecked")
  static Dataset<Row>[] split(SparkSession spark, Storage storage, DannConfig.Domain domain, String role, int numFeatures, int numClasses,
      boolean requireLabels, TrainingConfig training, Consumer<String> log) {
    GraftDatasets.Checked train = GraftDatasets.check(GraftDatasets.read(spark, storage, domain.train(), role), numFeatures, numClasses,
        requireLabels, training.onBadRecord());
    if (domain.test() != null) {
      GraftDatasets.Checked test = GraftDatasets.check(GraftDatasets.read(spark, storage, domain.test(), role + " test"), numFeatures,
          numClasses, true, training.onBadRecord());
      return new Dataset[] {train.rows(), test.rows()};
    }
    if (domain.transductive()) {
      log.accept(String.format("%s is transductive: training on all of %s, unlabelled, and scoring its labelled rows", role, domain.train()));
      return new Dataset[] {train.rows(), train.rows()};
    }
    long seed = domain.splitSeed() == null ? training.seed() : domain.splitSeed();
    log.accept(String.format("no %s test set: holding out %.0f%% of %s for evaluation (split seed %d)", role, 100 * domain.holdoutFraction(),
        domain.train(), seed));
    return train.rows().randomSplit(new double[] {1 - domain.holdoutFraction(), domain.holdoutFraction()}, seed);
  }
}

package io.graft.jobs.multitask;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.graft.adapt.SharedTrunk;
import io.graft.config.ConfigException;
import io.graft.config.TrainingConfig;
import io.graft.data.DataException;
import io.graft.data.Manifest;
import io.graft.engine.Checkpoints;
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
import java.util.ArrayList;
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
 * {@code graft multitask}: one shared trunk, one head per task, trained on
 * {@code sum_i w_i L_i} by {@link SyncAveraging} (shared weights broadcast to every executor each
 * averaging step). Each minibatch mixes tasks as the sampling policy says; a row's label mask is
 * 1 in its own head and 0 in the others, and w_i weights head i's cross-entropy. Evaluates every
 * task every round.
 *
 * <p>Writes {@code model.zip} (the graph with every head), {@code tasks/NAME/model.zip} (each task
 * as a single-task model: a plain MultiLayerNetwork for a layer-stack trunk, a one-output
 * ComputationGraph for a graph trunk), {@code metrics.jsonl} and {@code provenance.json}.
 * With one task it trains the single-task baseline on the same engine.
 */
public final class MultitaskJob {
  public static final String MODEL_FILE = "model.zip";
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Step size of the driver-side update of the uncertainty weights' log-variances. */
  static final double UNCERTAINTY_RATE = 0.5;

  private MultitaskJob() {}

  /** {@code graft multitask}. */
  public static final Job<MultitaskConfig> JOB = Job.planned("multitask", MultitaskConfig.class,
      (config, env, resume) -> plan(config, env.storage(), resume), (config, plan, context) -> run(config, plan, context.spark(), context.options()));

  /** Entry point for {@code spark-submit --class io.graft.jobs.multitask.MultitaskJob}: the same options as {@code graft multitask}. */
  public static void main(String[] args) {
    System.exit(JobMain.run(JOB, args));
  }

  /** What a finished run produced: each task's held-out accuracy and final loss weight. */
  public record Result(String output, Map<String, Double> accuracy, Map<String, Double> weights, int rounds, List<RoundMetrics> history)
      implements JobResult {
    @Override
    public List<String> lines() {
      return accuracy.entrySet().stream().map(e -> String.format("%s_accuracy=%.4f", e.getKey(), e.getValue())).toList();
    }
  }

  record Plan(List<Manifest> manifests, ComputationGraph graph, Path output, Checkpoints checkpoints) {}

  static Plan plan(MultitaskConfig config, Storage storage, boolean resume) throws IOException {
    List<Manifest> manifests = new ArrayList<>();
    List<SharedTrunk.Head> heads = new ArrayList<>();
    for (MultitaskConfig.Task t : config.tasks()) {
      Manifest m = GraftDatasets.manifest(storage, t.train(), "task '" + t.name() + "'");
      if (!manifests.isEmpty()) {
        ConfigException.require(Arrays.equals(m.featureShape(), manifests.get(0).featureShape()),
            "Task '%s' has feature shape %s but task '%s' has %s: tasks share one trunk and one input space", t.name(),
            Arrays.toString(m.featureShape()), config.tasks().get(0).name(), Arrays.toString(manifests.get(0).featureShape()));
      }
      if (t.test() != null) {
        Manifest test = GraftDatasets.manifest(storage, t.test(), "task '" + t.name() + "' test");
        ConfigException.require(Arrays.equals(test.featureShape(), m.featureShape()), "Task '%s' test set %s has feature shape %s, its train set %s",
            t.name(), t.test(), Arrays.toString(test.featureShape()), Arrays.toString(m.featureShape()));
        ConfigException.require(test.numClasses() <= m.numClasses(), "Task '%s' test set %s has %s classes, its train set %s", t.name(), t.test(),
            test.numClasses(), m.numClasses());
      }
      manifests.add(m);
      heads.add(new SharedTrunk.Head(t.name(), m.numClasses(), config.headHidden(), false));
    }
    long seed = config.training().seed();
    Manifest first = manifests.get(0);
    Model trunkSource = SharedTrunk.source(storage, config.pretrained(), config.model(), first.featureShape(), first.numClasses(),
        config.optimizer(), seed);
    ComputationGraph graph = SharedTrunk.build(trunkSource, config.pretrained() != null, first.featureShape(), heads, config.optimizer(), seed);
    Path output = storage.qualify(storage.path(config.output()));
    Checkpoints checkpoints = new Checkpoints(storage, output);
    if (resume) {
      checkpoints.requireResumable(config, config.training().epochs());
    }
    return new Plan(manifests, graph, output, checkpoints);
  }

  /** Validates the config and inputs without starting Spark; throws {@link ConfigException}. */
  public static void validate(MultitaskConfig config, Storage storage, boolean resume) throws IOException {
    plan(config, storage, resume);
  }

  /** Plans and runs the job on {@code spark}. */
  public static Result run(MultitaskConfig config, SparkSession spark, JobOptions options) throws Exception {
    return run(config, plan(config, new Storage(spark.sparkContext().hadoopConfiguration()), options.resume()), spark, options);
  }

  private static Result run(MultitaskConfig config, Plan plan, SparkSession spark, JobOptions options) throws Exception {
    Consumer<String> log = options.log();
    Storage storage = new Storage(spark.sparkContext().hadoopConfiguration());
    TrainingConfig training = config.training();
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    long seed = training.seed();
    int k = config.tasks().size();
    int numFeatures = plan.manifests().get(0).numFeatures();
    int[] numClasses = plan.manifests().stream().mapToInt(Manifest::numClasses).toArray();
    String[] names = config.tasks().stream().map(MultitaskConfig.Task::name).toArray(String[]::new);

    GraftSpark.jobGroup(spark, "graft-multitask", "multitask: checking data");
    JavaRDD<TaskRow> trainRows = null;
    JavaRDD<TaskRow> evalRows = null;
    for (int i = 0; i < k; i++) {
      MultitaskConfig.Task t = config.tasks().get(i);
      Dataset<Row> train = GraftDatasets.check(GraftDatasets.read(spark, storage, t.train(), "task '" + t.name() + "'"), numFeatures,
          numClasses[i], true, training.onBadRecord()).rows();
      Dataset<Row> test;
      if (t.test() != null) {
        test = GraftDatasets.check(GraftDatasets.read(spark, storage, t.test(), "task '" + t.name() + "' test"), numFeatures, numClasses[i], true,
            training.onBadRecord()).rows();
      } else {
        GraftDatasets.Split split = GraftDatasets.holdout(train, t.holdoutFraction(), seed);
        train = split.train();
        test = split.heldOut();
        log.accept(String.format("task '%s' has no test set: holding out %.0f%% of %s", t.name(), 100 * t.holdoutFraction(), t.train()));
      }
      if (t.labelsPerClass() > 0) {
        train = GraftDatasets.stratified(train, t.labelsPerClass(), seed);
      }
      JavaRDD<TaskRow> tr = TaskRows.of(train, i);
      JavaRDD<TaskRow> ev = TaskRows.of(test, i);
      trainRows = trainRows == null ? tr : trainRows.union(tr);
      evalRows = evalRows == null ? ev : evalRows.union(ev);
    }
    int workers = ParameterAveraging.workers(training, sc);
    trainRows = trainRows.repartition(workers).persist(StorageLevel.MEMORY_ONLY());
    JavaRDD<MultiDataSet> evalBatches = TaskRows.taskEvalBatches(evalRows, numClasses).persist(StorageLevel.MEMORY_ONLY());
    Map<Integer, Long> counts = trainRows.map(TaskRow::task).countByValue();
    long[] rows = new long[k];
    for (int i = 0; i < k; i++) {
      rows[i] = counts.getOrDefault(i, 0L);
      if (rows[i] == 0) {
        throw new DataException("Task '" + names[i] + "' has no training rows left (" + config.tasks().get(i).train() + ")");
      }
    }
    double[] sampling = config.samplingWeights(rows);
    log.accept(String.format("%d tasks (%s) on a %s trunk%s, %s training rows, %d workers, batch %d, averaging every %d, sampling %s, "
        + "weighting %s", k, String.join(", ", names), config.pretrained() == null ? config.model().architecture() : "pretrained",
        config.pretrained() == null ? "" : " from " + config.pretrained(),
        Arrays.toString(rows), workers, training.batchSizePerWorker(), training.averagingFrequency(), config.sampling(), config.weighting()));

    TrainingRun run = new TrainingRun("multitask", storage, plan.output(), plan.checkpoints(), seed, config, log);
    ComputationGraph graph = run.start(options.resume(), plan::graph, ComputationGraph.class);
    // Task weights start from the config, or continue from the last checkpointed round's.
    double[] logVariance = new double[k];
    for (int i = 0; i < k; i++) {
      logVariance[i] = -Math.log(run.history().isEmpty() ? config.tasks().get(i).weight() : run.last().extra().get(names[i] + "_weight"));
    }
    int rounds = training.epochs();
    SyncAveraging engine = new SyncAveraging(graph, training.averagingFrequency(), seed).sync(training.sync());
    String evalKey = "multitask-eval-" + UUID.randomUUID();
    JavaRDD<TaskRow> rowsForBatches = trainRows;
    RoundLoop.Trainer<ComputationGraph> trainer = new RoundLoop.Trainer<>() {
      @Override
      public RoundMetrics round(int round) {
        double[] weights = new double[k];
        for (int i = 0; i < k; i++) {
          weights[i] = config.weighting() == MultitaskConfig.Weighting.UNCERTAINTY ? Math.exp(-logVariance[i]) : config.tasks().get(i).weight();
        }
        GraftSpark.jobGroup(spark, "graft-multitask", "multitask round " + round + "/" + rounds);
        JavaRDD<MultiDataSet> batches = TaskRows.taskBatches(rowsForBatches, training.batchSizePerWorker(), numClasses, sampling,
            seed * 1009 + round).persist(StorageLevel.MEMORY_ONLY());
        SyncAveraging.Knobs knobs = new SyncAveraging.Knobs(Double.NaN, Double.NaN, weights);
        SyncAveraging.RoundFit fit;
        try {
          fit = engine.fitRound(sc, batches, round, 0, 0, p -> knobs, null);
        } finally {
          batches.unpersist(false);
        }
        GraftSpark.jobGroup(spark, "graft-multitask", "multitask round " + round + "/" + rounds + ": evaluation");
        List<GraphEvaluator.Result> eval = GraphEvaluator.evaluate(sc, graph, evalBatches, evalKey);
        Map<String, Double> extra = new LinkedHashMap<>();
        double meanAccuracy = 0;
        double meanLoss = 0;
        for (int i = 0; i < k; i++) {
          double taskLoss = fit.outputRows()[i] == 0 ? Double.NaN : fit.outputLoss()[i] / (weights[i] * fit.outputRows()[i]);
          extra.put(names[i] + "_train_loss", taskLoss);
          extra.put(names[i] + "_accuracy", eval.get(i).accuracy());
          extra.put(names[i] + "_loss", eval.get(i).loss());
          extra.put(names[i] + "_weight", weights[i]);
          meanAccuracy += eval.get(i).accuracy() / k;
          meanLoss += eval.get(i).loss() / k;
          if (config.weighting() == MultitaskConfig.Weighting.UNCERTAINTY && !Double.isNaN(taskLoss)) {
            // Kendall et al.: minimise exp(-s) L + s over s; one gradient step per round.
            logVariance[i] -= UNCERTAINTY_RATE * (1 - Math.exp(-logVariance[i]) * taskLoss);
          }
        }
        extra.put("averaging_steps", (double) fit.steps());
        return new RoundMetrics(round, rounds, null, "mean", fit.meanLoss(), meanLoss, meanAccuracy, fit.examples(),
            fit.examples() / fit.wallSeconds(), fit.wallSeconds(), config.optimizer().learningRate(), extra);
      }

      @Override
      public ComputationGraph network() {
        return graph;
      }

      @Override
      public void close() {
        rowsForBatches.unpersist(false);
        evalBatches.unpersist(false);
      }
    };
    RoundLoop.run(trainer, run.startRound() + 1, rounds, rounds, run.listeners(spark, options), null);

    RoundMetrics last = run.last();
    int[] shape = plan.manifests().get(0).featureShape();
    Map<String, TrainingRun.Saved> models = new LinkedHashMap<>();
    models.put(MODEL_FILE, new TrainingRun.Saved(graph, true));
    Map<String, Double> accuracy = new LinkedHashMap<>();
    Map<String, Double> finalWeights = new LinkedHashMap<>();
    Map<String, Object> metrics = new LinkedHashMap<>();
    for (int i = 0; i < k; i++) {
      models.put("tasks/" + names[i] + "/" + MODEL_FILE, new TrainingRun.Saved(SharedTrunk.export(graph, names[i], shape), false));
      accuracy.put(names[i], last.extra().get(names[i] + "_accuracy"));
      finalWeights.put(names[i], last.extra().get(names[i] + "_weight"));
      metrics.put(names[i] + "_accuracy", accuracy.get(names[i]));
      metrics.put(names[i] + "_weight", finalWeights.get(names[i]));
    }
    metrics.put("mean_accuracy", last.evalAccuracy());
    metrics.put("rounds", rounds);
    Provenance provenance = run.provenance();
    for (int i = 0; i < k; i++) {
      provenance.input(names[i], storage.qualify(storage.path(config.tasks().get(i).train())).toString(), rows[i],
          JSON.valueToTree(plan.manifests().get(i).sources()));
    }
    provenance.metrics(run.summary(metrics));
    provenance.put("model", Map.of("heads", List.of(names), "trunk", SharedTrunk.trunkLayers(graph), "parameters", graph.numParams(),
        "featureShape", shape, "samplingWeights", sampling));
    provenance.put("cluster", Map.of("master", spark.sparkContext().master(), "workers", workers));
    run.publish(models, provenance);
    log.accept(String.format("%s after %d rounds; model written to %s", accuracy, rounds, new Path(plan.output(), MODEL_FILE)));
    return new Result(plan.output().toString(), accuracy, finalWeights, rounds, run.history());
  }
}

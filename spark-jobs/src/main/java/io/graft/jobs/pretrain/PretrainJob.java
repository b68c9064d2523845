package io.graft.jobs.pretrain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.graft.config.ConfigException;
import io.graft.config.TrainingConfig;
import io.graft.data.Manifest;
import io.graft.engine.Checkpoints;
import io.graft.engine.DistributedEvaluator;
import io.graft.engine.ProgressReporter;
import io.graft.engine.RoundListener;
import io.graft.engine.RoundLoop;
import io.graft.engine.RoundMetrics;
import io.graft.engine.JobOptions;
import io.graft.engine.ParameterAveraging;
import io.graft.engine.MetricsLog;
import io.graft.model.Architectures;
import io.graft.spark.GraftDatasets;
import io.graft.spark.GraftSpark;
import io.graft.store.Provenance;
import io.graft.store.Storage;
import java.io.IOException;
import java.util.ArrayList;
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
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
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
    static final String WORK_DIR = "_work";
  private static final ObjectMapper JSON = new ObjectMapper();

  private PretrainJob() {}

  /** Entry point for {@code spark-submit --class io.graft.jobs.pretrain.PretrainJob}: the same options as {@code graft pretrain}. */
  public static void main(String[] args) {
    System.exit(io.graft.cli.GraftCli.runCommand("pretrain", args));
  }

  /** What a finished run produced. */
  public record Result(String output, double testAccuracy, double testLoss, int rounds, int resumedFromRound,
      List<RoundMetrics> history, long trainRows, long testRows) {}

  /** Everything checked on the driver before Spark does any work. */
  record Plan(Manifest train, Manifest test, MultiLayerConfiguration networkConf, Path output, Checkpoints checkpoints) {}

  static Plan plan(PretrainConfig config, Storage storage, boolean resume) throws IOException {
    Manifest train = GraftDatasets.manifest(storage, config.data().train(), "training");
    Manifest test = null;
    if (config.data().test() != null) {
      test = GraftDatasets.manifest(storage, config.data().test(), "test");
      if (test.numFeatures() != train.numFeatures()) {
        throw new ConfigException("Test dataset " + config.data().test() + " has " + test.numFeatures()
            + " features but training dataset " + config.data().train() + " has " + train.numFeatures());
      }
      if (test.numClasses() > train.numClasses()) {
        throw new ConfigException("Test dataset " + config.data().test() + " has " + test.numClasses()
            + " classes but training dataset " + config.data().train() + " has " + train.numClasses());
      }
    }
    MultiLayerConfiguration conf =
        Architectures.build(config.model(), train.featureShape(), train.numClasses(), config.optimizer(), config.training().seed());
    Path output = storage.qualify(storage.path(config.output()));
    Checkpoints checkpoints = new Checkpoints(storage, output);
    if (resume) {
      checkpoints.requireResumable(config, config.training().epochs());
    }
    return new Plan(train, test, conf, output, checkpoints);
  }

  /** Validates the config and inputs without starting Spark; throws {@link ConfigException}. */
  public static void validate(PretrainConfig config, Storage storage, boolean resume) throws IOException {
    plan(config, storage, resume);
  }

  public static Result run(PretrainConfig config, SparkSession spark, JobOptions options) throws Exception {
    Consumer<String> log = options.log();
    Storage storage = new Storage(spark.sparkContext().hadoopConfiguration());
    Plan plan = plan(config, storage, options.resume());
    TrainingConfig training = config.training();
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    int numClasses = plan.train().numClasses();
    int numFeatures = plan.train().numFeatures();

    GraftSpark.jobGroup(spark, "graft-pretrain", "pretrain: checking data");
    GraftDatasets.Loaded trainData = GraftDatasets.read(spark, storage, config.data().train(), "training");
    GraftDatasets.Checked trainRows = GraftDatasets.check(trainData, numFeatures, numClasses, true, training.onBadRecord());
    Dataset<Row> trainSet = trainRows.rows();
    Dataset<Row> testSet;
    long skipped = trainRows.skipped();
    if (config.data().test() != null) {
      GraftDatasets.Checked testRows = GraftDatasets.check(
          GraftDatasets.read(spark, storage, config.data().test(), "test"), numFeatures, numClasses, true, training.onBadRecord());
      testSet = testRows.rows();
      skipped += testRows.skipped();
    } else {
      double f = config.data().holdoutFraction();
      Dataset<Row>[] split = trainSet.randomSplit(new double[] {1 - f, f}, training.seed());
      trainSet = split[0];
      testSet = split[1];
      log.accept(String.format("no test set: holding out %.0f%% of the training rows", 100 * f));
    }
    trainSet = GraftDatasets.capped(trainSet, training.maxRows(), training.seed());

    int workers = ParameterAveraging.workers(training, sc);
    JavaRDD<DataSet> trainBatches = GraftDatasets.miniBatches(trainSet.repartition(workers), training.batchSizePerWorker(), numFeatures, numClasses)
        .persist(StorageLevel.MEMORY_ONLY());
    JavaRDD<DataSet> testBatches = GraftDatasets.miniBatches(testSet, 256, numFeatures, numClasses).persist(StorageLevel.MEMORY_ONLY());
    long trainCount = GraftDatasets.countExamples(trainBatches);
    long testCount = GraftDatasets.countExamples(testBatches);
    log.accept(String.format("pretrain: %s on %,d training rows, %,d test rows, %d workers, batch %d, averaging every %d, %s",
        config.model().architecture(), trainCount, testCount, workers, training.batchSizePerWorker(), training.averagingFrequency(),
        training.approach()));

    MultiLayerNetwork network;
    int startRound = 0;
    List<RoundMetrics> history = new ArrayList<>();
    if (options.resume()) {
      Checkpoints.State state = plan.checkpoints().load();
      network = plan.checkpoints().loadNetwork(state);
      startRound = state.round();
      history.addAll(state.history());
      log.accept("resuming from the checkpoint of round " + startRound + " at " + plan.checkpoints().dir());
    } else {
      if (plan.checkpoints().exists()) {
        log.accept("starting afresh; the old checkpoint at " + plan.checkpoints().dir() + " is replaced (pass --resume to continue it)");
      }
      network = new MultiLayerNetwork(plan.networkConf());
      network.init();
    }

    Path work = new Path(plan.output(), WORK_DIR);
    List<RoundListener> listeners = new ArrayList<>();
    listeners.add((m, net) -> {
      history.add(m);
      plan.checkpoints().save(m.round(), training.seed(), config, history, net);
      MetricsLog.write(storage, plan.output(), history);
    });
    listeners.add(new ProgressReporter("pretrain", log));
    listeners.addAll(options.listeners());
    int rounds = training.epochs();
    try {
      network = RoundLoop.run(spark, network, round -> trainBatches, trainCount,
          net -> DistributedEvaluator.evaluate(sc, net, testBatches),
          new RoundLoop.Spec("pretrain", null, startRound + 1, rounds, rounds, "test", training, workers, work), listeners, null);
    } finally {
      trainBatches.unpersist(false);
      testBatches.unpersist(false);
    }

    RoundMetrics last = history.get(history.size() - 1);
    MultiLayerNetwork finalNet = network;
    storage.writeAtomically(new Path(plan.output(), MODEL_FILE), out -> ModelSerializer.writeModel(finalNet, out, true));
    MetricsLog.write(storage, plan.output(), history);
    Provenance provenance = new Provenance("pretrain").config(config).seed(training.seed());
    provenance.input("train", storage.qualify(storage.path(config.data().train())).toString(), trainCount, JSON.valueToTree(plan.train().sources()));
    provenance.input("test", config.data().test() == null ? "holdout of train" : storage.qualify(storage.path(config.data().test())).toString(),
        testCount, plan.test() == null ? null : JSON.valueToTree(plan.test().sources()));
    Map<String, Object> metrics = new LinkedHashMap<>();
    metrics.put("test_accuracy", last.evalAccuracy());
    metrics.put("test_loss", last.evalLoss());
    metrics.put("train_loss", last.trainLoss());
    metrics.put("rounds", rounds);
    metrics.put("wall_s", history.stream().mapToDouble(RoundMetrics::wallSeconds).sum());
    metrics.put("samples_per_s", history.stream().mapToDouble(RoundMetrics::samplesPerSecond).average().orElse(0));
    provenance.metrics(metrics);
    provenance.put("skippedRows", skipped);
    provenance.put("resumedFromRound", startRound);
    provenance.put("model", Map.of("architecture", config.model().architecture().toString(), "parameters", network.numParams(),
        "layers", layerNames(network), "numClasses", numClasses, "featureShape", plan.train().featureShape(),
        "classNames", plan.train().classNames()));
    provenance.put("cluster", Map.of("master", spark.sparkContext().master(), "workers", workers));
    provenance.write(storage, plan.output());
    plan.checkpoints().delete();
    if (storage.exists(work)) {
      storage.delete(work);
    }
    log.accept(String.format("pretrain: test accuracy %.2f%% after %d rounds; model written to %s",
        100 * last.evalAccuracy(), rounds, new Path(plan.output(), MODEL_FILE)));
    return new Result(plan.output().toString(), last.evalAccuracy(), last.evalLoss(), rounds, startRound, history, trainCount, testCount);
  }

  static List<String> layerNames(MultiLayerNetwork network) {
    List<String> names = new ArrayList<>();
    for (int i = 0; i < network.getnLayers(); i++) {
      names.add(network.getLayerWiseConfigurations().getConf(i).getLayer().getLayerName());
    }
    return names;
  }
}

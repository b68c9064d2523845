package io.graft.jobs.finetune;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.rand;
import static org.apache.spark.sql.functions.row_number;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.graft.config.ConfigException;
import io.graft.config.TrainingConfig;
import io.graft.data.Augmentation;
import io.graft.data.Manifest;
import io.graft.engine.AugmentBatch;
import io.graft.engine.BroadcastNetwork;
import io.graft.engine.Checkpoints;
import io.graft.engine.DistributedEvaluator;
import io.graft.engine.JobOptions;
import io.graft.engine.MetricsLog;
import io.graft.engine.ParameterAveraging;
import io.graft.engine.ProgressReporter;
import io.graft.engine.RoundListener;
import io.graft.engine.RoundLoop;
import io.graft.engine.RoundMetrics;
import io.graft.jobs.Job;
import io.graft.jobs.JobMain;
import io.graft.jobs.JobResult;
import io.graft.jobs.finetune.FinetuneConfig.ScheduleConfig;
import io.graft.jobs.finetune.FinetuneConfig.StageConfig;
import io.graft.schedule.LrSchedule;
import io.graft.spark.GraftDatasets;
import io.graft.spark.GraftSpark;
import io.graft.store.Provenance;
import io.graft.store.Storage;
import io.graft.surgery.AdapterLayer;
import io.graft.surgery.Surgery;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Function;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.ndarray.INDArray;
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
  public static final Job<FinetuneConfig> JOB = Job.configured("finetune", FinetuneConfig.class, (config, env, resume) -> {
    ParameterAveraging.requireSupported(config.training(), env.sparkConf(), env.storage().conf());
    validate(config, env.storage(), resume);
  }, (config, context) -> run(config, context.spark(), context.options()));

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

  /** Everything decided on the driver before Spark works. */
  record Plan(Manifest train, Manifest test, Surgery.Source source, MultiLayerNetwork base, List<Stage> stages, Path output,
      Checkpoints checkpoints, int headStart) {}

  static Plan plan(FinetuneConfig config, Storage storage, boolean resume) throws IOException {
    Manifest train = GraftDatasets.manifest(storage, config.data().train(), "target training");
    Manifest test = GraftDatasets.manifest(storage, config.data().test(), "target test");
    if (test.numFeatures() != train.numFeatures()) {
      throw new ConfigException("Target test dataset " + config.data().test() + " has " + test.numFeatures()
          + " features but the training dataset has " + train.numFeatures());
    }
    Surgery.Source source = Surgery.load(storage, config.source());
    long inputs = Surgery.inputSize(source.network());
    if (inputs > 0 && inputs != train.numFeatures()) {
      throw new ConfigException("Cannot fine-tune: the target's features are " + Arrays.toString(train.featureShape()) + " ("
          + train.numFeatures() + " values) but model " + config.source() + " takes " + inputs + " inputs");
    }
    List<Surgery.AddedLayer> added = config.surgery().addLayers().stream()
        .map(a -> new Surgery.AddedLayer(a.name(), a.width(), a.activation())).toList();
    List<String> remove = new ArrayList<>(config.surgery().removeLayers());
    for (String projection : Surgery.selfSupervisedHead(source.network())) {
      if (!remove.contains(projection)) {
        remove.add(projection); // a contrastive encoder's projection head goes with its output
      }
    }
    MultiLayerNetwork base = Surgery.newHead(source.network(), train.numClasses(), remove, added, config.training().seed());
    List<StageConfig> stageConfigs = config.stages().isEmpty() ? Strategies.expand(config, base, added.size()) : config.stages();
    boolean adapters = config.strategy() == FinetuneConfig.Strategy.ADAPTERS && config.stages().isEmpty()
        || stageConfigs.stream().anyMatch(s -> s.trainFrom().equals("adapters"));
    if (adapters) {
      ConfigException.require(!config.adapters().after().isEmpty(),
          "Cannot use adapters: adapters.after names no layer (layers: %s)", String.join(", ", Surgery.layerNames(base)));
      base = Surgery.insertAdapters(base, config.adapters().after(), config.adapters().size(), config.training().seed());
    }
    if (config.strategy() == FinetuneConfig.Strategy.SCRATCH && config.stages().isEmpty()) {
      base = Surgery.reinitialised(base, config.training().seed());
    }
    int headStart = base.getnLayers() - 1 - added.size();
    List<Stage> stages = new ArrayList<>();
    for (StageConfig s : stageConfigs) {
      stages.add(resolve(s, base, headStart, config));
    }
    Path output = storage.qualify(storage.path(config.output()));
    Checkpoints checkpoints = new Checkpoints(storage, output);
    if (resume) {
      Checkpoints.State state = checkpoints.load();
      Checkpoints.requireCompatible(state.config(), JSON.valueToTree(config), List.of());
    }
    return new Plan(train, test, source, base, stages, output, checkpoints, headStart);
  }

  private static Stage resolve(StageConfig s, MultiLayerNetwork base, int headStart, FinetuneConfig config) {
    int lowest;
    Set<Integer> also = new HashSet<>();
    switch (s.trainFrom()) {
      case "all" -> lowest = 0;
      case "head" -> lowest = headStart;
      case "adapters" -> {
        lowest = headStart;
        List<String> names = Surgery.layerNames(base);
        for (int i = 0; i < names.size(); i++) {
          if (base.getLayerWiseConfigurations().getConf(i).getLayer() instanceof AdapterLayer) {
            also.add(i);
          }
        }
        ConfigException.require(!also.isEmpty(), "stage '%s' trains adapters, but the model has none (set adapters.after)", s.name());
      }
      default -> lowest = Surgery.indexOf(base, s.trainFrom(), "fine-tune from a layer");
    }
    double lr = s.learningRate() == null ? config.optimizer().learningRate() : s.learningRate();
    return new Stage(s, lowest, also, lr, s.schedule() == null ? config.schedule() : s.schedule());
  }

  /** Validates config, source model and datasets without starting Spark. */
  public static void validate(FinetuneConfig config, Storage storage, boolean resume) throws IOException {
    plan(config, storage, resume);
  }

  public static Result run(FinetuneConfig config, SparkSession spark, JobOptions options) throws Exception {
    long started = System.nanoTime();
    Consumer<String> log = options.log();
    Storage storage = new Storage(spark.sparkContext().hadoopConfiguration());
    Plan plan = plan(config, storage, options.resume());
    TrainingConfig training = config.training();
    ParameterAveraging.requireSupported(training, spark.sparkContext());
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    int numClasses = plan.train().numClasses();
    int numFeatures = plan.train().numFeatures();
    int workers = ParameterAveraging.workers(training, sc);

    GraftSpark.jobGroup(spark, "graft-finetune", "finetune: preparing data");
    GraftDatasets.Checked trainChecked = GraftDatasets.check(GraftDatasets.read(spark, storage, config.data().train(), "target training"),
        numFeatures, numClasses, true, training.onBadRecord());
    GraftDatasets.Checked testChecked = GraftDatasets.check(GraftDatasets.read(spark, storage, config.data().test(), "target test"),
        numFeatures, numClasses, true, training.onBadRecord());
    Dataset<Row> labelled = trainChecked.rows();
    if (config.data().labelsPerClass() > 0) {
      labelled = GraftDatasets.stratified(labelled, config.data().labelsPerClass(), training.seed());
    }
    Dataset<Row>[] split = labelled.randomSplit(new double[] {1 - config.data().validationFraction(), config.data().validationFraction()},
        training.seed());
    JavaRDD<DataSet> trainBatches = GraftDatasets.miniBatches(split[0].repartition(workers), training.batchSizePerWorker(), numFeatures,
        numClasses).persist(StorageLevel.MEMORY_ONLY());
    JavaRDD<DataSet> valBatches = GraftDatasets.miniBatches(split[1], 256, numFeatures, numClasses).persist(StorageLevel.MEMORY_ONLY());
    JavaRDD<DataSet> testBatches = GraftDatasets.miniBatches(testChecked.rows(), 256, numFeatures, numClasses);
    long trainCount = GraftDatasets.countExamples(trainBatches);
    long valCount = GraftDatasets.countExamples(valBatches);
    ConfigException.require(trainCount > 0 && valCount > 0, "Too few target rows: %s for training and %s for validation", trainCount, valCount);
    long itersPerEpoch = Math.max(1, (trainCount + (long) training.batchSizePerWorker() * workers - 1) / ((long) training.batchSizePerWorker() * workers));
    log.accept(String.format("finetune: %s from %s on %,d training / %,d validation rows (%d classes), %d stage(s), %d workers",
        config.stages().isEmpty() ? config.strategy() : "custom stages", config.source(), trainCount, valCount, numClasses,
        plan.stages().size(), workers));
    List<String> projection = Surgery.selfSupervisedHead(plan.source().network());
    if (!projection.isEmpty()) {
      log.accept("finetune: " + config.source() + " is a contrastive encoder; its projection head (" + String.join(", ", projection)
          + ", output) is dropped before the new head");
    }

    int totalRounds = plan.stages().stream().mapToInt(s -> s.config().epochs()).sum();
    List<RoundMetrics> history = new ArrayList<>();
    MultiLayerNetwork working = plan.base();
    int startStage = 0;
    int doneInStage = 0;
    int round = 0;
    double[] best = {-1};
    int[] bestRound = {0};
    MultiLayerNetwork resumedStageNet = null;
    if (options.resume()) {
      Checkpoints.State state = plan.checkpoints().load();
      history.addAll(state.history());
      round = state.round();
      startStage = state.extra().get("stage").asInt();
      doneInStage = state.extra().get("roundsInStage").asInt();
      best[0] = state.extra().get("bestAccuracy").asDouble();
      bestRound[0] = state.extra().get("bestRound").asInt();
      resumedStageNet = plan.checkpoints().loadNetwork(state);
      working = Surgery.unfrozen(resumedStageNet);
      log.accept("resuming after round " + round + " (stage " + (startStage + 1) + ", " + doneInStage + " round(s) into it)");
    }

    Path work = new Path(plan.output(), "_work");
    List<StageReport> reports = new ArrayList<>();
    ProgressReporter progress = new ProgressReporter("finetune", log);
    try {
      for (int si = startStage; si < plan.stages().size(); si++) {
        Stage stage = plan.stages().get(si);
        int skip = si == startStage ? doneInStage : 0;
        if (skip >= stage.config().epochs()) {
          continue;
        }
        MultiLayerNetwork stageNet = si == startStage && resumedStageNet != null ? resumedStageNet : stageNetwork(working, stage, config, itersPerEpoch);
        resumedStageNet = null;
        long[] counts = Surgery.trainableAndTotal(stageNet);
        boolean cache = stage.config().cacheFeatures() && stage.alsoTrainable().isEmpty() && stage.lowestTrainable() > 0;
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
          stageTrain = featurize(sc, stageNet, k, trainBatches).persist(StorageLevel.MEMORY_AND_DISK_SER());
          stageVal = featurize(sc, stageNet, k, valBatches).persist(StorageLevel.MEMORY_AND_DISK_SER());
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
        int stageIndex = si;
        int firstRound = round + 1;
        int[] inStage = {skip};
        int[] sinceBest = {0};
        List<Double> roundSeconds = new ArrayList<>();
        List<RoundListener> listeners = new ArrayList<>();
        listeners.add((m, net) -> {
          history.add(m);
          inStage[0]++;
          roundSeconds.add(m.wallSeconds());
          MultiLayerNetwork full = toFull.apply(net);
          if (m.evalAccuracy() > best[0]) {
            best[0] = m.evalAccuracy();
            bestRound[0] = m.round();
            sinceBest[0] = 0;
            if (config.earlyStopping() != null) {
              plan.checkpoints().saveNetwork(BEST_FILE, Surgery.unfrozen(full));
            }
          } else {
            sinceBest[0]++;
          }
          ObjectNode extra = JSON.createObjectNode();
          extra.put("stage", stageIndex);
          extra.put("roundsInStage", inStage[0]);
          extra.put("bestAccuracy", best[0]);
          extra.put("bestRound", bestRound[0]);
          plan.checkpoints().save(m.round(), training.seed(), config, history, full, extra);
          MetricsLog.write(storage, plan.checkpoints().dir(), history);
        });
        listeners.add(progress);
        listeners.addAll(options.listeners());
        Augmentation aug = config.augmentation();
        int[] shape = plan.train().featureShape();
        JavaRDD<DataSet> base = stageTrain;
        Function<Integer, JavaRDD<DataSet>> perRound = aug.enabled() && !cache
            ? r -> base.map(new AugmentBatch(aug, shape, training.seed() * 31 + r))
            : r -> base;
        JavaRDD<DataSet> evalOn = stageVal;
        RoundLoop.StopRule stop = config.earlyStopping() == null ? null : m -> sinceBest[0] >= config.earlyStopping().patience();
        RoundLoop.Spec spec = new RoundLoop.Spec("finetune", stage.config().name(), firstRound, firstRound + stage.config().epochs() - skip - 1,
            totalRounds, "val", training, workers, work);
        // A head on cached features is small: dl4j-spark's per-split cost (rebuilding the network, exporting batches) would dominate.
        trained = RoundLoop.run(spark, trained, perRound, trainCount, net -> DistributedEvaluator.evaluate(sc, net, evalOn),
            cache ? spec.withGraftAveraging() : spec, listeners, stop);
        round = history.isEmpty() ? round : history.get(history.size() - 1).round();
        MultiLayerNetwork full = toFull.apply(trained);
        working = Surgery.unfrozen(full);
        if (cache) {
          stageTrain.unpersist(false);
          stageVal.unpersist(false);
        }
        reports.add(new StageReport(stage.config().name(), stage.config().trainFrom(), stage.config().epochs(), inStage[0],
            stage.learningRate(), stage.config().alpha(), counts[0], counts[1], cache, featurizeSeconds,
            roundSeconds.stream().mapToDouble(Double::doubleValue).average().orElse(0)));
      }
    } finally {
      trainBatches.unpersist(false);
      valBatches.unpersist(false);
    }

    MultiLayerNetwork finalNet = working;
    if (config.earlyStopping() != null && storage.exists(new Path(plan.checkpoints().dir(), BEST_FILE))) {
      finalNet = plan.checkpoints().loadNetwork(BEST_FILE);
      log.accept(String.format("early stopping: keeping round %d's model (validation accuracy %.2f%%)", bestRound[0], 100 * best[0]));
    }
    GraftSpark.jobGroup(spark, "graft-finetune", "finetune: test evaluation");
    DistributedEvaluator.Result test = DistributedEvaluator.evaluate(sc, finalNet, testBatches);
    double wall = (System.nanoTime() - started) / 1e9;

    MultiLayerNetwork saved = finalNet;
    storage.writeAtomically(new Path(plan.output(), MODEL_FILE), out -> ModelSerializer.writeModel(saved, out, false));
    MetricsLog.write(storage, plan.output(), history);
    Provenance provenance = new Provenance("finetune").config(config).seed(training.seed());
    provenance.input("train", storage.qualify(storage.path(config.data().train())).toString(), trainCount,
        JSON.valueToTree(plan.train().sources()));
    provenance.input("validation", "split of train", valCount, null);
    provenance.input("test", storage.qualify(storage.path(config.data().test())).toString(), test.count(),
        JSON.valueToTree(plan.test().sources()));
    ObjectNode sourceNode = JSON.createObjectNode();
    sourceNode.put("uri", config.source());
    sourceNode.set("provenance", plan.source().provenanceJson() == null ? null : JSON.readTree(plan.source().provenanceJson()));
    provenance.put("source", sourceNode);
    Map<String, Object> metrics = new LinkedHashMap<>();
    metrics.put("test_accuracy", test.accuracy());
    metrics.put("test_loss", test.loss());
    metrics.put("best_val_accuracy", best[0]);
    metrics.put("best_round", bestRound[0]);
    metrics.put("rounds", history.isEmpty() ? 0 : history.get(history.size() - 1).round());
    metrics.put("wall_s", wall);
    provenance.metrics(metrics);
    provenance.put("stages", reports);
    provenance.put("skippedRows", trainChecked.skipped() + testChecked.skipped());
    provenance.put("model", Map.of("layers", Surgery.layerNames(finalNet), "parameters", finalNet.numParams(),
        "numClasses", numClasses, "classNames", plan.train().classNames(), "featureShape", plan.train().featureShape()));
    provenance.write(storage, plan.output());
    plan.checkpoints().delete();
    if (storage.exists(work)) {
      storage.delete(work);
    }
    log.accept(String.format("finetune: test accuracy %.2f%% (%,d test rows); model written to %s", 100 * test.accuracy(), test.count(),
        new Path(plan.output(), MODEL_FILE)));
    return new Result(plan.output().toString(), test.accuracy(), test.loss(), best[0], bestRound[0], history, reports, trainCount,
        valCount, test.count(), wall);
  }

  /** The stage's network: frozen prefix, per-layer (discriminative, scheduled) updaters, regularisation. */
  static MultiLayerNetwork stageNetwork(MultiLayerNetwork working, Stage stage, FinetuneConfig config, long itersPerEpoch) {
    List<Integer> groups = Surgery.parameterLayers(working);
    int numGroups = groups.size();
    ScheduleConfig sc = stage.schedule();
    long total = itersPerEpoch * stage.config().epochs();
    Function<Double, IUpdater> updater = rate -> sc.kind() == LrSchedule.Kind.CONSTANT && sc.warmupEpochs() == 0
        ? config.optimizer().toUpdater(rate)
        : config.optimizer().toUpdater(new LrSchedule(sc.kind(), rate, total, Math.round(sc.warmupEpochs() * itersPerEpoch),
            Math.round(sc.stepEpochs() * itersPerEpoch), sc.gamma(), sc.minFactor()));
    Surgery.StagePlan plan = new Surgery.StagePlan(stage.lowestTrainable(), stage.alsoTrainable(), layer -> {
      int g = groups.indexOf(layer);
      int level = g < 0 ? numGroups : g + 1;
      return updater.apply(stage.learningRate() * Math.pow(stage.config().alpha(), numGroups - level));
    }, config.optimizer().weightDecay(), 0.0, config.surgery().freezeBatchNorm());
    return Surgery.stageNetwork(working, plan);
  }

  /** The frozen base's outputs (the inputs of layer {@code k}) for every minibatch, computed on the executors. */
  static JavaRDD<DataSet> featurize(JavaSparkContext sc, MultiLayerNetwork net, int k, JavaRDD<DataSet> batches) {
    return batches.mapPartitions(new Featurize(BroadcastNetwork.of(sc, net), k));
  }

  static final class Featurize implements FlatMapFunction<Iterator<DataSet>, DataSet> {
    private final BroadcastNetwork shipped;
    private final int k;

    Featurize(BroadcastNetwork shipped, int k) {
      this.shipped = shipped;
      this.k = k;
    }

    @Override
    public Iterator<DataSet> call(Iterator<DataSet> batches) {
      if (!batches.hasNext()) {
        return Collections.emptyIterator();
      }
      MultiLayerNetwork net = shipped.network();
      List<DataSet> out = new ArrayList<>();
      while (batches.hasNext()) {
        DataSet ds = batches.next();
        INDArray features = net.feedForwardToLayer(k - 1, ds.getFeatures(), false).get(k).detach();
        out.add(new DataSet(features, ds.getLabels()));
      }
      return out.iterator();
    }
  }

}

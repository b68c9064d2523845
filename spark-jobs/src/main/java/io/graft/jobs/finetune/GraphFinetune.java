package io.graft.jobs.finetune;

import io.graft.config.ConfigException;
import io.graft.data.Augmentation;
import io.graft.data.Manifest;
import io.graft.engine.AugmentBatch;
import io.graft.engine.DistributedEvaluator;
import io.graft.engine.JobOptions;
import io.graft.engine.RoundListener;
import io.graft.engine.RoundLoop;
import io.graft.engine.TrainingRun;
import io.graft.jobs.finetune.FinetuneConfig.ScheduleConfig;
import io.graft.jobs.finetune.FinetuneConfig.StageConfig;
import io.graft.store.Storage;
import io.graft.spark.GraftSpark;
import io.graft.surgery.GraphCut;
import io.graft.surgery.GraphInserts;
import io.graft.surgery.GraphSurgery;
import io.graft.surgery.GraphSurgery.Grouping;
import io.graft.surgery.Graphs;
import io.graft.surgery.Surgery;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.dataset.DataSet;

/**
 * {@code graft finetune} on a DL4J {@link ComputationGraph} source (a residual trunk, an imported
 * ONNX model, any DL4J graph): the same strategies and stage lists as for a layer stack, over the
 * graph's parameter groups ({@code surgery.groups}: {@code stages}, the default, or {@code layers}).
 * A stage trains from a group or vertex upwards (everything that reads it); the rest is frozen,
 * batch norm there in inference mode; discriminative rates give group l of L the rate
 * lr·alpha^(L-l). A stage whose trainable part reads the frozen part at one vertex trains on that
 * vertex's outputs, computed once ({@link GraphCut}); otherwise it trains through the frozen base.
 */
final class GraphFinetune {
  private static final String BEST_FILE = "best.zip";

  private GraphFinetune() {}

  /** A resolved stage: which vertices train, at which base rate. */
  record Stage(StageConfig config, Set<String> trainable, double learningRate, ScheduleConfig schedule) {}

  /** The graph after surgery, its parameter groups (bottom to top) and the resolved stages. */
  /** @param projection a contrastive encoder's projection vertices, dropped with its output (empty otherwise) */
  record Plan(ComputationGraph base, LinkedHashMap<String, List<String>> groups, List<Stage> stages, String sourceProvenance,
      List<String> projection) {}

  /**
   * The plan on {@code source}: a graph, or a layer stack converted to one (names kept) for the
   * strategies only graphs have.
   */
  static Plan plan(FinetuneConfig config, Storage storage, Manifest train, ComputationGraph source) throws IOException {
    long inputs = Graphs.inputSize(source);
    if (inputs > 0 && inputs != train.numFeatures()) {
      throw new ConfigException("Cannot fine-tune: the target's features are " + java.util.Arrays.toString(train.featureShape()) + " ("
          + train.numFeatures() + " values) but model " + config.source() + " takes " + inputs + " inputs");
    }
    List<Surgery.AddedLayer> added = config.surgery().addLayers().stream()
        .map(a -> new Surgery.AddedLayer(a.name(), a.width(), a.activation())).toList();
    long seed = config.training().seed();
    List<String> projectionHead = Surgery.selfSupervisedHead(source.getConfiguration());
    ComputationGraph base = GraphSurgery.newHead(GraphSurgery.removeVertices(source,
        FinetunePlan.withProjection(config.surgery().removeLayers(), projectionHead)), train.numClasses(), added, seed);
    if (config.strategy() == FinetuneConfig.Strategy.SCRATCH && config.stages().isEmpty()) {
      base = GraphSurgery.reinitialised(base, seed);
    }
    List<String> head = new ArrayList<>();
    added.forEach(a -> head.add(a.name()));
    head.add(GraphSurgery.outputLayer(base));
    Grouping grouping = Grouping.parse(config.surgery().groups());
    LinkedHashMap<String, List<String>> groups = GraphSurgery.groups(base, grouping);
    int headGroups = (int) groups.keySet().stream().filter(g -> groups.get(g).stream().anyMatch(head::contains)).count();
    List<StageConfig> configs = config.stages().isEmpty() ? Strategies.expand(config, new ArrayList<>(groups.keySet()), headGroups)
        : config.stages();
    Map<String, List<String>> inserted = new LinkedHashMap<>();
    if (configs.stream().anyMatch(s -> s.trainFrom().equals("adapters"))) {
      ConfigException.require(!config.adapters().after().isEmpty(), "Cannot use adapters: adapters.after names no vertex (vertices: %s)",
          String.join(", ", base.getConfiguration().getTopologicalOrderStr()));
      GraphInserts.Inserted a = GraphInserts.adapters(base, config.adapters().after(), config.adapters().size(), seed);
      base = a.graph();
      inserted.put("adapters", a.trainable());
    }
    if (configs.stream().anyMatch(s -> s.trainFrom().equals("lora"))) {
      List<String> targets = config.lora().layers().isEmpty() ? GraphInserts.loraTargets(base, head) : loraTargets(base, groups, config);
      ConfigException.require(!targets.isEmpty(), "Cannot use LoRA: %s has no dense or convolution layer below its head", config.source());
      GraphInserts.Inserted l = GraphInserts.lora(base, targets, config.lora().rank(), seed);
      base = l.graph();
      inserted.put("lora", l.trainable());
    }
    LinkedHashMap<String, List<String>> finalGroups = inserted.isEmpty() ? groups : GraphSurgery.groups(base, grouping);
    List<Stage> stages = new ArrayList<>();
    for (StageConfig s : configs) {
      Set<String> trainable;
      if (inserted.containsKey(s.trainFrom())) {
        trainable = new LinkedHashSet<>(inserted.get(s.trainFrom()));
        trainable.addAll(head);
      } else {
        trainable = GraphSurgery.trainableFrom(base, finalGroups, s.trainFrom(), head);
      }
      double lr = s.learningRate() == null ? config.optimizer().learningRate() : s.learningRate();
      stages.add(new Stage(s, trainable, lr, s.schedule() == null ? config.schedule() : s.schedule()));
    }
    return new Plan(base, finalGroups, stages, Graphs.provenance(storage, config.source()), projectionHead);
  }

  /** lora.layers as vertices: a group's name stands for its dense and convolution layers. */
  private static List<String> loraTargets(ComputationGraph base, Map<String, List<String>> groups, FinetuneConfig config) {
    List<String> all = GraphInserts.loraTargets(base, List.of());
    List<String> out = new ArrayList<>();
    for (String name : config.lora().layers()) {
      if (groups.containsKey(name) && !base.getConfiguration().getVertices().containsKey(name)) {
        groups.get(name).stream().filter(all::contains).forEach(out::add);
      } else {
        out.add(name);
      }
    }
    return out;
  }

  /** The stage's graph: frozen outside its trainable vertices, each group at its discriminative, scheduled rate. */
  static ComputationGraph stageGraph(ComputationGraph working, Stage stage, Plan plan, FinetuneConfig config, long itersPerEpoch) {
    List<String> groupNames = new ArrayList<>(plan.groups().keySet());
    Map<String, Integer> level = new LinkedHashMap<>();
    for (int g = 0; g < groupNames.size(); g++) {
      for (String v : plan.groups().get(groupNames.get(g))) {
        level.put(v, g + 1);
      }
    }
    int numGroups = groupNames.size();
    GraphSurgery.StagePlan p = new GraphSurgery.StagePlan(stage.trainable(),
        v -> FinetuneJob.groupUpdater(config, stage.schedule(), stage.learningRate(), stage.config().alpha(),
            level.getOrDefault(v, numGroups), numGroups, itersPerEpoch, stage.config().epochs()),
        config.optimizer().weightDecay(), config.surgery().freezeBatchNorm());
    return GraphSurgery.stageGraph(working, p);
  }

  static FinetuneJob.Result run(FinetuneConfig config, FinetunePlan finetunePlan, FinetuneData data, SparkSession spark, JobOptions options,
      long started) throws Exception {
    Consumer<String> log = options.log();
    Plan plan = finetunePlan.graph();
    Storage storage = new Storage(spark.sparkContext().hadoopConfiguration());
    log.accept(data.describe(config, finetunePlan, plan.stages().size()));
    if (!plan.projection().isEmpty()) {
      log.accept(config.source() + " is a contrastive encoder; its projection head (" + String.join(", ", plan.projection())
          + ", output) is dropped before the new head");
    }
    log.accept("graph groups (bottom to top): " + String.join(", ", plan.groups().keySet()));
    int totalRounds = plan.stages().stream().mapToInt(s -> s.config().epochs()).sum();
    TrainingRun run = new TrainingRun("finetune", storage, finetunePlan.output(), finetunePlan.checkpoints(), config.training().seed(), config, log);
    ComputationGraph resumedStageNet = run.start(options.resume(), () -> null, ComputationGraph.class);
    ComputationGraph working = plan.base();
    int round = run.startRound();
    StageRounds rounds = StageRounds.start(run, options.resume(), log);
    if (options.resume()) {
      working = GraphSurgery.unfrozen(resumedStageNet);
    }
    List<FinetuneJob.StageReport> reports = new ArrayList<>();
    try {
      for (int si = rounds.startStage; si < plan.stages().size(); si++) {
        Stage stage = plan.stages().get(si);
        int skip = rounds.skip(si);
        if (skip >= stage.config().epochs()) {
          continue;
        }
        ComputationGraph stageNet = si == rounds.startStage && resumedStageNet != null ? resumedStageNet
            : stageGraph(working, stage, plan, config, data.itersPerEpoch());
        resumedStageNet = null;
        long[] counts = GraphSurgery.trainableAndTotal(stageNet);
        Augmentation aug = config.augmentation();
        GraphCut cut = counts[0] < counts[1] && stage.config().cacheFeatures() && !aug.enabled()
            ? GraphCut.of(stageNet, GraphSurgery.unfrozenVertices(stageNet)) : null;
        if (counts[0] < counts[1] && stage.config().cacheFeatures() && cut == null) {
          log.accept("stage " + stage.config().name() + ": " + (aug.enabled() ? "augmentation changes the inputs every round"
              : "the trainable vertices read the frozen part at more than one vertex") + ", so the frozen base's outputs cannot be cached; "
              + "training through the frozen base");
        }
        double featurizeSeconds = 0;
        JavaRDD<DataSet> train = data.train();
        JavaRDD<DataSet> validation = data.validation();
        ComputationGraph trainedNet = stageNet;
        if (cut != null) {
          long t0 = System.nanoTime();
          GraftSpark.jobGroup(spark, "graft-finetune", "finetune " + stage.config().name() + ": caching the frozen base's outputs");
          train = FrozenBaseOutputs.atVertex(data.sc(), stageNet, cut.boundary(), data.train());
          validation = FrozenBaseOutputs.atVertex(data.sc(), stageNet, cut.boundary(), data.validation());
          train.count();
          validation.count();
          featurizeSeconds = (System.nanoTime() - t0) / 1e9;
          trainedNet = cut.top();
          log.accept(String.format("stage %s: frozen base's outputs (vertex '%s', %,d values a row) cached in %.1f s; training %,d of %,d "
              + "parameters on them", stage.config().name(), cut.boundary(), cut.width(), featurizeSeconds, counts[0], counts[1]));
        } else {
          log.accept(String.format("stage %s: training %,d of %,d parameters (%.1f%%) from '%s'", stage.config().name(), counts[0], counts[1],
              100.0 * counts[0] / counts[1], stage.config().trainFrom()));
        }
        ComputationGraph full = stageNet;
        UnaryOperator<Model> toFull = net -> cut == null ? net : cut.copyBack((ComputationGraph) net, full);
        int firstRound = round + 1;
        rounds.beginStage(si);
        List<RoundListener> listeners = new ArrayList<>();
        listeners.add(rounds.listener(config.earlyStopping() == null ? null
            : net -> finetunePlan.checkpoints().saveNetwork(BEST_FILE, GraphSurgery.unfrozen((ComputationGraph) toFull.apply(net)))));
        listeners.addAll(run.listeners(spark, options, toFull, rounds.state()));
        int[] shape = finetunePlan.train().featureShape();
        JavaRDD<DataSet> base = train;
        Function<Integer, JavaRDD<DataSet>> perRound = aug.enabled()
            ? r -> base.map(new AugmentBatch(aug, shape, config.training().seed() * 31 + r))
            : r -> base;
        RoundLoop.Spec spec = new RoundLoop.Spec("finetune", stage.config().name(), firstRound, firstRound + stage.config().epochs() - skip - 1,
            totalRounds, "val", config.training(), data.workers(), run.workDir());
        JavaRDD<DataSet> evalOn = validation;
        // a top on cached features is small: dl4j-spark's per-split cost would dominate, as for layer stacks
        ComputationGraph trained = RoundLoop.run(spark, trainedNet, perRound, data.trainCount(),
            net -> DistributedEvaluator.evaluate(data.sc(), net, evalOn), cut != null ? spec.withGraftAveraging() : spec, listeners,
            rounds.stop(config));
        if (cut != null) {
          trained = cut.copyBack(trained, full);
          train.unpersist(false);
          validation.unpersist(false);
        }
        round = run.history().isEmpty() ? round : run.history().get(run.history().size() - 1).round();
        working = GraphSurgery.unfrozen(trained);
        reports.add(new FinetuneJob.StageReport(stage.config().name(), stage.config().trainFrom(), stage.config().epochs(),
            rounds.roundsInStage(), stage.learningRate(), stage.config().alpha(), counts[0], counts[1], cut != null, featurizeSeconds,
            rounds.meanRoundSeconds()));
      }
    } finally {
      data.unpersistTraining();
    }
    Model finalNet = working;
    if (config.earlyStopping() != null && storage.exists(new Path(finetunePlan.checkpoints().dir(), BEST_FILE))) {
      finalNet = finetunePlan.checkpoints().loadGraph(BEST_FILE);
      log.accept(String.format("early stopping: keeping round %d's model (validation accuracy %.2f%%)", rounds.bestRound(), 100 * rounds.best()));
    }
    List<String> vertices = ((ComputationGraph) finalNet).getConfiguration().getTopologicalOrderStr();
    return FinetuneJob.finish(config, finetunePlan, data, run, finalNet, vertices, rounds.best(), rounds.bestRound(), reports, spark, log,
        started);
  }
}

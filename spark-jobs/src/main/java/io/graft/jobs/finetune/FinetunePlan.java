package io.graft.jobs.finetune;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.graft.config.ConfigException;
import io.graft.data.Manifest;
import io.graft.engine.Checkpoints;
import io.graft.jobs.finetune.FinetuneConfig.StageConfig;
import io.graft.spark.GraftDatasets;
import io.graft.store.Storage;
import io.graft.surgery.AdapterLayer;
import io.graft.surgery.Graphs;
import io.graft.surgery.Surgery;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;

/**
 * Everything {@code graft finetune} decides on the driver before Spark works: the target datasets,
 * the source model after surgery (new head, added layers, adapters), the resolved stages, the
 * output and its checkpoints; {@code testIsTrain} when the test set is the training dataset, whose
 * rows drawn for training and validation are then left out of the test set. Built once, by the job's check before Spark starts; the run trains what it planned.
 */
record FinetunePlan(Manifest train, Manifest test, boolean testIsTrain, Surgery.Source source, MultiLayerNetwork base,
    List<FinetuneJob.Stage> stages, Path output, Checkpoints checkpoints, int headStart, GraphFinetune.Plan graph) {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** The source model folder's provenance, or null. */
  String sourceProvenance() {
    return graph != null ? graph.sourceProvenance() : source.provenanceJson();
  }

  static FinetunePlan of(FinetuneConfig config, Storage storage, boolean resume) throws IOException {
    Manifest train = GraftDatasets.manifest(storage, config.data().train(), "target training");
    Manifest test = GraftDatasets.manifest(storage, config.data().test(), "target test");
    if (test.numFeatures() != train.numFeatures()) {
      throw new ConfigException("Target test dataset " + config.data().test() + " has " + test.numFeatures()
          + " features but the training dataset has " + train.numFeatures());
    }
    boolean testIsTrain = storage.qualify(storage.path(config.data().test())).equals(storage.qualify(storage.path(config.data().train())));
    ConfigException.require(!testIsTrain || config.data().labelsPerClass() > 0,
        "data.test is data.train (%s) and every row of it trains: set data.labelsPerClass to draw a label budget, "
            + "the rest is the test set, or give a separate test set", config.data().train());
    Path output = storage.qualify(storage.path(config.output()));
    Checkpoints checkpoints = new Checkpoints(storage, output);
    if (resume) {
      Checkpoints.State state = checkpoints.load();
      Checkpoints.requireCompatible(state.config(), JSON.valueToTree(config), List.of());
    }
    if (Graphs.isGraphModel(storage, config.source())) {
      GraphFinetune.Plan graph = GraphFinetune.plan(config, storage, train, (ComputationGraph) Graphs.load(storage, config.source()));
      return new FinetunePlan(train, test, testIsTrain, null, null, List.of(), output, checkpoints, 0, graph);
    }
    Surgery.Source source = Surgery.load(storage, config.source());
    boolean lora = config.strategy() == FinetuneConfig.Strategy.LORA && config.stages().isEmpty()
        || config.stages().stream().anyMatch(s -> s.trainFrom().equals("lora"));
    if (lora) {
      // LoRA splits a layer into base, low-rank branch and sum: a graph's shape, so the stack becomes a graph, its names kept
      // (a contrastive encoder's projection head is dropped there, as below)
      ComputationGraph graph = Graphs.fromStack(Surgery.unfrozen(source.network()));
      return new FinetunePlan(train, test, testIsTrain, null, null, List.of(), output, checkpoints, 0,
          GraphFinetune.plan(config, storage, train, graph));
    }
    long inputs = Surgery.inputSize(source.network());
    if (inputs > 0 && inputs != train.numFeatures()) {
      throw new ConfigException("Cannot fine-tune: the target's features are " + Arrays.toString(train.featureShape()) + " ("
          + train.numFeatures() + " values) but model " + config.source() + " takes " + inputs + " inputs");
    }
    List<Surgery.AddedLayer> added = config.surgery().addLayers().stream()
        .map(a -> new Surgery.AddedLayer(a.name(), a.width(), a.activation())).toList();
    List<String> remove = withProjection(config.surgery().removeLayers(), Surgery.selfSupervisedHead(source.network()));
    MultiLayerNetwork base = Surgery.newHead(source.network(), train.numClasses(), remove, added, config.training().seed());
    List<String> names = Surgery.layerNames(base);
    List<String> groups = Surgery.parameterLayers(base).stream().map(names::get).toList();
    List<StageConfig> stageConfigs = config.stages().isEmpty() ? Strategies.expand(config, groups, added.size() + 1) : config.stages();
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
    List<FinetuneJob.Stage> stages = new ArrayList<>();
    for (StageConfig s : stageConfigs) {
      stages.add(resolve(s, base, headStart, config));
    }
    return new FinetunePlan(train, test, testIsTrain, source, base, stages, output, checkpoints, headStart, null);
  }

  private static FinetuneJob.Stage resolve(StageConfig s, MultiLayerNetwork base, int headStart, FinetuneConfig config) {
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
    return new FinetuneJob.Stage(s, lowest, also, lr, s.schedule() == null ? config.schedule() : s.schedule());
  }

  /** {@code surgery.removeLayers} plus a contrastive encoder's projection layers: the projection head goes with its output. */
  static List<String> withProjection(List<String> removeLayers, List<String> projection) {
    List<String> remove = new ArrayList<>(removeLayers);
    projection.stream().filter(p -> !remove.contains(p)).forEach(remove::add);
    return remove;
  }
}

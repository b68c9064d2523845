package io.graft.jobs.pretrain;

import io.graft.config.ConfigException;
import io.graft.data.Manifest;
import io.graft.engine.Checkpoints;
import io.graft.model.Architectures;
import io.graft.model.ModelConfig;
import io.graft.selfsup.Objective;
import io.graft.spark.GraftDatasets;
import io.graft.store.Storage;
import io.graft.surgery.Surgery;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;

/**
 * Everything {@code graft pretrain} checks on the driver before Spark does any work: the datasets,
 * the network configuration, the probe's layer, the output and its checkpoints.
 *
 * @param networkConf the network to train, null when it is a graph
 * @param graphConf the graph to train ({@code model.architecture: resnet}), null otherwise
 * @param probeLayer the layer (a graph's vertex) the linear probe reads, null without a probe
 */
record PretrainPlan(Manifest train, Manifest test, MultiLayerConfiguration networkConf, ComputationGraphConfiguration graphConf, Path output,
    Checkpoints checkpoints, String probeLayer) {
  static PretrainPlan of(PretrainConfig config, Storage storage, boolean resume) throws IOException {
    Objective objective = config.objective();
    Manifest train = GraftDatasets.manifest(storage, config.data().train(), "training");
    Manifest test = null;
    if (config.data().test() != null) {
      test = GraftDatasets.manifest(storage, config.data().test(), "test");
      if (test.numFeatures() != train.numFeatures()) {
        throw new ConfigException("Test dataset " + config.data().test() + " has " + test.numFeatures()
            + " features but training dataset " + config.data().train() + " has " + train.numFeatures());
      }
      if (!objective.selfSupervised() && test.numClasses() > train.numClasses()) {
        throw new ConfigException("Test dataset " + config.data().test() + " has " + test.numClasses()
            + " classes but training dataset " + config.data().train() + " has " + train.numClasses());
      }
    }
    if (config.augmentation().enabled() && train.featureShape().length != 2 && train.featureShape().length != 3) {
      throw new ConfigException("augmentation needs image-shaped features ([channels, height, width]); dataset " + config.data().train()
          + " has feature shape " + Arrays.toString(train.featureShape()));
    }
    if (config.model().architecture() == ModelConfig.Architecture.RESNET) {
      ComputationGraphConfiguration graph = objective.selfSupervised()
          ? Architectures.resnetSelfSupervised(config.model(), train.featureShape(), objective, unitRange(train), config.optimizer(),
              config.training().seed())
          : Architectures.resnet(config.model(), train.featureShape(), train.numClasses(), config.optimizer(), config.training().seed());
      ConfigException.require(config.probe() == null || objective.selfSupervised(), "probe measures a self-supervised encoder; objective.kind "
          + "is supervised (remove probe)");
      new ComputationGraph(graph).calculateIndices(); // sets the configuration's topological order; no parameters yet
      List<String> vertices = new ArrayList<>(graph.getTopologicalOrderStr());
      vertices.removeAll(graph.getNetworkInputs());
      String probeLayer = config.probe() == null ? null : probeLayer(config, storage, train, vertices, Surgery.selfSupervisedHead(graph).size());
      return planned(train, test, null, graph, probeLayer, config, storage, resume);
    }
    MultiLayerConfiguration conf = objective.selfSupervised()
        ? Architectures.selfSupervised(config.model(), train.featureShape(), objective, unitRange(train), config.optimizer(),
            config.training().seed())
        : Architectures.build(config.model(), train.featureShape(), train.numClasses(), config.optimizer(), config.training().seed());
    List<String> layers = new ArrayList<>();
    for (int i = 0; i < conf.getConfs().size(); i++) {
      layers.add(conf.getConf(i).getLayer().getLayerName());
    }
    String probeLayer = config.probe() == null ? null : probeLayer(config, storage, train, layers, Surgery.selfSupervisedHead(conf).size());
    return planned(train, test, conf, null, probeLayer, config, storage, resume);
  }

  /** The plan with its output and checkpoints; on resume, checks that the checkpoint belongs to this config. */
  private static PretrainPlan planned(Manifest train, Manifest test, MultiLayerConfiguration networkConf, ComputationGraphConfiguration graphConf,
      String probeLayer, PretrainConfig config, Storage storage, boolean resume) throws IOException {
    Path output = storage.qualify(storage.path(config.output()));
    Checkpoints checkpoints = new Checkpoints(storage, output);
    if (resume) {
      checkpoints.requireResumable(config, config.training().epochs());
    }
    return new PretrainPlan(train, test, networkConf, graphConf, output, checkpoints, probeLayer);
  }

  /** A freshly initialised network or graph, as the config asks. */
  Model newNetwork() {
    if (graphConf != null) {
      ComputationGraph graph = new ComputationGraph(graphConf);
      graph.init();
      return graph;
    }
    MultiLayerNetwork network = new MultiLayerNetwork(networkConf);
    network.init();
    return network;
  }

  /** Whether every stored feature lies in [0, 1] (images as Graft imports them): the decoder is then sigmoid + cross-entropy. */
  static boolean unitRange(Manifest m) {
    return m.normalisation() != null && m.normalisation().min() >= 0 && m.normalisation().max() <= 1;
  }

  /**
   * Checks the probe's datasets and resolves its layer: named, or the encoder's top (the layer
   * below the head). {@code names}: the layers (a graph's vertices in topological order) from the
   * bottom, the output last, its {@code projection} layers just below it.
   */
  private static String probeLayer(PretrainConfig config, Storage storage, Manifest train, List<String> names, int projection) {
    PretrainConfig.Probe probe = config.probe();
    for (String uri : List.of(probe.train(), config.probeTest())) {
      Manifest m = GraftDatasets.manifest(storage, uri, "probe");
      ConfigException.require(m.numFeatures() == train.numFeatures(), "Cannot probe: dataset %s has %s features but training dataset %s has %s",
          uri, m.numFeatures(), config.data().train(), train.numFeatures());
      ConfigException.require(m.numClasses() >= 2, "Cannot probe: dataset %s has no labels (%s classes); the probe needs labelled rows", uri,
          m.numClasses());
    }
    int head = names.size() - 1 - projection; // the first layer above the encoder
    if (probe.layer() == null) {
      return names.get(head - 1);
    }
    int index = names.indexOf(probe.layer());
    ConfigException.require(index >= 0, "Cannot probe: layer '%s' not found in the model (layers: %s)", probe.layer(), String.join(", ", names));
    ConfigException.require(index < head, "Cannot probe layer '%s': it is part of the %s head, not the encoder (encoder layers: %s)",
        probe.layer(), config.objective().kind(), String.join(", ", names.subList(0, head)));
    return probe.layer();
  }
}

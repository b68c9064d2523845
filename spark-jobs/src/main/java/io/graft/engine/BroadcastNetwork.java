package io.graft.engine;

import io.graft.model.GraftKernels;
import java.io.Serializable;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A network shipped to the executors once: its configuration (JSON) and a copy of its parameters
 * as two broadcasts. Executor functions hold this (it is small and serializable) and call
 * {@link #network()} once per partition.
 */
public record BroadcastNetwork(Broadcast<String> conf, Broadcast<INDArray> params, boolean graph) implements Serializable {
  /** Broadcasts {@code net}'s configuration and a copy of its current parameters. */
  public static BroadcastNetwork of(JavaSparkContext sc, MultiLayerNetwork net) {
    return of(sc, (Model) net);
  }

  /** Broadcasts a network or a graph. */
  public static BroadcastNetwork of(JavaSparkContext sc, Model net) {
    boolean graph = net instanceof ComputationGraph;
    String json = graph ? ((ComputationGraph) net).getConfiguration().toJson() : ((MultiLayerNetwork) net).getLayerWiseConfigurations().toJson();
    return new BroadcastNetwork(sc.broadcast(json), sc.broadcast(net.params().dup()), graph);
  }

  /**
   * A fresh network with the broadcast parameters (its own copy: safe to run next to others), on
   * the task's GPU when Spark assigned it one.
   *
   * @throws IllegalStateException when a graph was broadcast (use {@link #model()})
   */
  public MultiLayerNetwork network() {
    if (graph) {
      throw new IllegalStateException("a ComputationGraph was broadcast, not a MultiLayerNetwork");
    }
    return (MultiLayerNetwork) model();
  }

  /** As {@link #network()}, for either kind of network. */
  public Model model() {
    TaskGpu.bind();
    if (graph) {
      ComputationGraph g = new ComputationGraph(ComputationGraphConfiguration.fromJson(conf.value()));
      g.init(params.value().dup(), false);
      GraftKernels.install(g);
      return g;
    }
    MultiLayerNetwork net = new MultiLayerNetwork(MultiLayerConfiguration.fromJson(conf.value()));
    net.init(params.value().dup(), false);
    GraftKernels.install(net);
    return net;
  }

  /** Frees the broadcasts on the executors and the driver (call when no job will read them again). */
  public void destroy() {
    conf.destroy();
    params.destroy();
  }
}

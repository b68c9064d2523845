package io.graft.engine;

import io.graft.model.GraftKernels;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalInt;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;

/**
 * Executor-side cache of networks, one pool per training run. Building a DL4J network from its
 * JSON (and allocating its parameters and updater) costs far more than one averaging step on a
 * small head; dl4j-spark pays it on every split. A task borrows a network, overwrites its
 * parameters and updater state from the step's broadcast, and returns it, so a network's content
 * never leaks from one step into the next. Only the most recent runs are kept. On GPU executors a
 * pool is per device: the borrowing thread is first bound to its task's GPU ({@link TaskGpu}), and
 * a network never moves between devices.
 */
final class NetworkPool {
  private static final int MAX_RUNS = 8;
  private static final Map<String, Deque<Model>> POOLS = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Deque<Model>> eldest) {
      return size() > MAX_RUNS;
    }
  };

  private NetworkPool() {}

  static Model borrow(String runKey, boolean graph, String confJson) {
    String key = poolKey(runKey);
    synchronized (POOLS) {
      Deque<Model> pool = POOLS.computeIfAbsent(key, k -> new ArrayDeque<>());
      Model m = pool.pollFirst();
      if (m != null) {
        return m;
      }
    }
    Model built;
    if (graph) {
      ComputationGraph g = new ComputationGraph(ComputationGraphConfiguration.fromJson(confJson));
      g.init();
      built = g;
    } else {
      MultiLayerNetwork n = new MultiLayerNetwork(MultiLayerConfiguration.fromJson(confJson));
      n.init();
      built = n;
    }
    GraftKernels.install(built);
    return built;
  }

  static void release(String runKey, Model network) {
    String key = poolKey(runKey);
    synchronized (POOLS) {
      POOLS.computeIfAbsent(key, k -> new ArrayDeque<>()).addFirst(network);
    }
  }

  /** The run's pool on the calling task's GPU (binding the thread to it), or the run's only pool. */
  private static String poolKey(String runKey) {
    OptionalInt gpu = TaskGpu.bind();
    return gpu.isPresent() ? runKey + "@gpu" + gpu.getAsInt() : runKey;
  }
}

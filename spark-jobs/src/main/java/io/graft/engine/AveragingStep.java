package io.graft.engine;

import io.graft.engine.SyncAveraging.Knobs;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.TreeSet;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;

/**
 * One averaging step of {@link SyncAveraging}, the part both synchronisation modes share: the
 * state a step starts from, one worker's fit of its window of minibatches, the sum of several
 * workers' results, and the average applied to a network. The driver applies the average in
 * {@code steps} mode, every barrier task applies it in {@code barrier} mode ({@link BarrierRounds}):
 * the same code, so the two modes end with the same weights bit for bit.
 */
final class AveragingStep {
  private AveragingStep() {}

  /** What every worker sets its network to before a step (or a barrier round). */
  record State(String confJson, INDArray params, INDArray updater, long iteration, Knobs knobs) implements Serializable {

    static State of(String confJson, Model network, long iteration, Knobs knobs) {
      INDArray updater = updaterState(network);
      return new State(confJson, network.params().dup(), updater == null ? null : updater.dup(), iteration, knobs);
    }

    /** A pooled network for this state's configuration, set to exactly this state. */
    Model borrow(String runKey, boolean graph) {
      Model net = NetworkPool.borrow(runKey, graph, confJson);
      net.setParams(params);
      INDArray mine = updaterState(net);
      if (mine != null && updater != null) {
        mine.assign(updater);
      }
      setIterationCount(net, iteration);
      return net;
    }
  }

  /**
   * Training losses summed over minibatches and workers. For graphs, {@code outputLoss[o]} is
   * output o's loss summed over the rows it scored (each row's loss times its label mask) and
   * {@code outputRows[o]} how many rows it scored (mask above 0).
   */
  static final class Losses implements Serializable {
    double lossSum;
    long examples;
    final double[] outputLoss;
    final long[] outputRows;

    Losses(int outputs) {
      outputLoss = new double[outputs];
      outputRows = new long[outputs];
    }

    void add(Losses o) {
      lossSum += o.lossSum;
      examples += o.examples;
      for (int i = 0; i < outputLoss.length; i++) {
        outputLoss[i] += o.outputLoss[i];
        outputRows[i] += o.outputRows[i];
      }
    }

    double meanLoss() {
      return examples == 0 ? Double.NaN : lossSum / examples;
    }
  }

  /** One or more workers' results of a step, summed; a worker without minibatches left contributes nothing. */
  static final class Partial implements Serializable {
    INDArray params;
    INDArray updater;
    int workers;
    int maxBatches;
    Losses losses;
    final TreeSet<Long> checksums = new TreeSet<>();
    final List<Long> checksumList = new ArrayList<>();

    Partial merge(Partial o) {
      if (o.workers == 0) {
        return this;
      }
      if (workers == 0) {
        return o;
      }
      params.addi(o.params);
      if (updater != null) {
        updater.addi(o.updater);
      }
      workers += o.workers;
      maxBatches = Math.max(maxBatches, o.maxBatches);
      losses.add(o.losses);
      checksums.addAll(o.checksums);
      checksumList.addAll(o.checksumList);
      return this;
    }
  }

  /**
   * Sets {@code net} to the mean of the workers' results in {@code total} after checking that they
   * all started from {@code startChecksum}, and returns the iteration count after the step.
   *
   * @param who "executors" on the driver, "tasks" in a barrier task (for the error)
   */
  static long applyMean(Model net, Partial total, long startChecksum, long iteration, int round, int step, String who) {
    if (total.checksums.size() != 1 || total.checksums.first() != startChecksum) {
      throw new IllegalStateException("Averaging step " + step + " of round " + round + ": " + who + " started from weights with checksums "
          + total.checksums + ", not " + startChecksum);
    }
    net.setParams(total.params.divi(total.workers));
    if (total.updater != null) {
      // fetched now, not before the step: a learning-rate knob rebuilds DL4J's updater and its state array
      updaterState(net).assign(total.updater.divi(total.workers));
    }
    long after = iteration + total.maxBatches;
    setIterationCount(net, after);
    return after;
  }

  /**
   * One worker's share of a step: fits minibatches {@code from .. from + frequency} of its
   * partition in {@code order} and returns what it trained (weights, updater state, losses).
   */
  static Partial fitWindow(Model net, List<MultiDataSet> all, List<Integer> order, int from, int frequency, long startChecksum) {
    Partial out = new Partial();
    int to = Math.min(all.size(), from + frequency);
    int outputs = outputs(net);
    out.losses = new Losses(outputs);
    for (int i = from; i < to; i++) {
      MultiDataSet batch = all.get(order.get(i));
      if (net instanceof ComputationGraph g) {
        g.fit(batch);
      } else {
        ((MultiLayerNetwork) net).fit(batch);
      }
      long n = batch.getFeatures(0).size(0);
      out.losses.lossSum += net.score() * n;
      out.losses.examples += n;
      for (int o = 0; o < outputs; o++) {
        double score = net instanceof ComputationGraph g ? g.getOutputLayer(o).score() : net.score();
        out.losses.outputLoss[o] += score * n;
        INDArray mask = batch.getLabelsMaskArrays() == null ? null : batch.getLabelsMaskArray(o);
        out.losses.outputRows[o] += mask == null ? n : mask.gt(0).castTo(DataType.INT).sumNumber().longValue();
      }
    }
    out.params = net.params().dup();
    INDArray after = updaterState(net);
    out.updater = after == null ? null : after.dup();
    out.workers = 1;
    out.maxBatches = to - from;
    out.checksums.add(startChecksum);
    out.checksumList.add(startChecksum);
    return out;
  }

  static int outputs(Model net) {
    return net instanceof ComputationGraph g ? g.getNumOutputArrays() : 1;
  }

  static INDArray updaterState(Model m) {
    if (m instanceof ComputationGraph g) {
      return g.getUpdater(true).getStateViewArray();
    }
    return ((MultiLayerNetwork) m).getUpdater(true).getStateViewArray();
  }

  static void setIterationCount(Model m, long iteration) {
    if (m instanceof ComputationGraph g) {
      g.getConfiguration().setIterationCount((int) iteration);
    } else {
      ((MultiLayerNetwork) m).getLayerWiseConfigurations().setIterationCount((int) iteration);
    }
  }

  /** Executor side of a step in {@code steps} mode: holds the broadcast and primitives only. */
  static final class FitStep implements FlatMapFunction<Iterator<MultiDataSet>, Partial> {
    private final Broadcast<State> state;
    private final String runKey;
    private final boolean graph;
    private final int step;
    private final int frequency;
    private final long seed;
    private final int round;

    FitStep(Broadcast<State> state, String runKey, boolean graph, int step, int frequency, long seed, int round) {
      this.state = state;
      this.runKey = runKey;
      this.graph = graph;
      this.step = step;
      this.frequency = frequency;
      this.seed = seed;
      this.round = round;
    }

    @Override
    public Iterator<Partial> call(Iterator<MultiDataSet> batches) {
      List<MultiDataSet> all = new ArrayList<>();
      batches.forEachRemaining(all::add);
      int from = step * frequency;
      if (from >= all.size()) {
        return List.of(new Partial()).iterator();
      }
      List<Integer> order = SyncAveraging.batchOrder(all.size(), seed, round, TaskContext.getPartitionId());
      State s = state.value();
      Model net = s.borrow(runKey, graph);
      try {
        SyncAveraging.applyKnobs(net, s.knobs());
        return List.of(fitWindow(net, all, order, from, frequency, SyncAveraging.checksum(net.params()))).iterator();
      } finally {
        NetworkPool.release(runKey, net);
      }
    }
  }
}

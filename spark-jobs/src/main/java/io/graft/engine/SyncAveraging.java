package io.graft.engine;

import io.graft.adapt.GradientReversalLayer;
import io.graft.config.TrainingConfig.Sync;
import io.graft.engine.AveragingStep.Losses;
import io.graft.engine.AveragingStep.Partial;
import io.graft.engine.AveragingStep.State;
import io.graft.spark.GraftSpark;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.zip.CRC32;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Graft's own parameter averaging, for {@link ComputationGraph}s (multi-task and adversarial
 * stages) and for small networks where dl4j-spark's per-split overhead dominates (heads on cached
 * features).
 *
 * <p>An averaging step: the driver broadcasts the shared state (parameters, updater state,
 * iteration count and the step's knobs: learning rate, gradient-reversal strength); every
 * partition of the (persisted, partitioned) minibatch RDD sets a pooled network to exactly that
 * state, fits its next {@code averagingFrequency} minibatches, and returns its parameters and
 * updater state; the driver averages them over the partitions that trained. A round is one pass
 * over the data in shuffled minibatch order. Each task reports a checksum of the weights it
 * started from; the driver refuses to continue unless every executor started from the broadcast
 * weights bit for bit.
 *
 * <p>Two ways to synchronise, same arithmetic, same result: one Spark job per averaging step
 * ({@code steps}: broadcast, fit, reduce on the driver), or one <b>barrier</b> job per round
 * ({@code barrier}): every partition's task keeps its network for the whole round and the tasks
 * exchange their parameters and updater state with {@code BarrierTaskContext.allGather} after each
 * {@code averagingFrequency} minibatches, each computing the same average in partition order. A
 * Spark job costs ~0.15 s to schedule, which dominates small networks (a head on cached features
 * does 140 steps a round at 10k rows); an all-gather costs milliseconds. Barrier mode needs a task
 * slot per partition at once and sends the state through the driver's RPC, so {@code auto}
 * uses it only for states under {@value #BARRIER_AUTO_MAX_BYTES} bytes when the cluster has the
 * slots and neither dynamic allocation (which Spark refuses for barrier stages) nor speculation is on.
 * An all-gather goes through the driver, which sends every task every task's state: k workers move
 * k² states per averaging step (64 workers and LeNet's 5 MB: 21 GB), so {@code auto} also keeps
 * k² times the state under {@value #BARRIER_AUTO_MAX_RELAYED_BYTES} bytes and uses steps (a
 * broadcast and a tree reduce, linear in k) above it.
 *
 * <p>This class is the driver of both; {@link AveragingStep} is what the two modes share (the
 * state, one worker's window, the average applied), {@link BarrierRounds} the barrier job.
 */
public final class SyncAveraging {
  private static final Logger LOG = LoggerFactory.getLogger(SyncAveraging.class);
  private final Model network;
  private final boolean graph;
  private final String confJson;
  private final String runKey = UUID.randomUUID().toString();
  private final int averagingFrequency;
  private final long seed;
  private long iteration;
  private Sync sync = Sync.AUTO;
  private int[] partitionBatches;
  private int cachedRddId = -1;

  /**
   * Knobs the driver sets for one averaging step; NaN (or null) leaves a knob as configured.
   *
   * @param learningRate every layer's learning rate
   * @param reversal the strength of every gradient-reversal layer
   * @param outputWeights a loss weight per graph output (multi-task lambda_i)
   */
  public record Knobs(double learningRate, double reversal, double[] outputWeights) implements Serializable {
    public static final Knobs NONE = new Knobs(Double.NaN, Double.NaN, null);

    public Knobs(double learningRate, double reversal) {
      this(learningRate, reversal, null);
    }
  }

  /** Parameters plus updater state up to this size are averaged in barrier mode under {@code auto}. */
  public static final long BARRIER_AUTO_MAX_BYTES = 16L << 20;

  /** Under {@code auto}, barrier rounds only while workers² × state stays under this many bytes per averaging step. */
  public static final long BARRIER_AUTO_MAX_RELAYED_BYTES = 256L << 20;

  /** The knobs at training progress {@code p} in [0, 1] (the DANN schedules). */
  @FunctionalInterface
  public interface Schedule extends Serializable {
    Knobs at(double progress);
  }

  /** What one averaging step saw: the checksums every training task started from. */
  public record Step(int round, int step, long iteration, long broadcastChecksum, List<Long> startChecksums, int workers)
      implements Serializable {}

  /** Called on the driver after each averaging step. */
  @FunctionalInterface
  public interface StepListener {
    void onStep(Step step);
  }

  /**
   * One round's training figures. For graphs, {@code outputLoss[o]} is output o's loss summed over
   * the rows it scored (each row's loss times its label mask) and {@code outputRows[o]} how many
   * rows it scored (mask above 0). {@code taskTime} says where a barrier round's tasks spent it (null
   * for a round of averaging steps).
   */
  public record RoundFit(double meanLoss, long examples, int steps, Knobs lastKnobs, double wallSeconds, double[] outputLoss,
      long[] outputRows, BarrierRounds.TaskTime taskTime) {
    /** The {@code metrics.jsonl} keys of {@link #taskShares}. */
    public static final String FITTING_SHARE = "tasks_fitting_share";
    public static final String WAITING_SHARE = "tasks_waiting_share";
    public static final String AVERAGING_SHARE = "tasks_averaging_share";
    /** The prefix every task-share key starts with. */
    public static final String SHARE_PREFIX = "tasks_";

    /**
     * The task time split as {@code metrics.jsonl} figures: {@code tasks_fitting_share},
     * {@code tasks_waiting_share} and {@code tasks_averaging_share} of the tasks' summed time (none for
     * averaging steps).
     */
    public Map<String, Double> taskShares() {
      if (taskTime == null || taskTime.total() <= 0) {
        return Map.of();
      }
      Map<String, Double> m = new LinkedHashMap<>();
      m.put(FITTING_SHARE, taskTime.fitting() / taskTime.total());
      m.put(WAITING_SHARE, taskTime.waiting() / taskTime.total());
      m.put(AVERAGING_SHARE, taskTime.averaging() / taskTime.total());
      return m;
    }
  }

  public SyncAveraging(Model network, int averagingFrequency, long seed) {
    if (!(network instanceof ComputationGraph) && !(network instanceof MultiLayerNetwork)) {
      throw new IllegalArgumentException("SyncAveraging trains a ComputationGraph or a MultiLayerNetwork, not " + network.getClass());
    }
    this.network = network;
    this.graph = network instanceof ComputationGraph;
    this.confJson = graph ? ((ComputationGraph) network).getConfiguration().toJson()
        : ((MultiLayerNetwork) network).getLayerWiseConfigurations().toJson();
    this.averagingFrequency = averagingFrequency;
    this.seed = seed;
    this.iteration = graph ? ((ComputationGraph) network).getConfiguration().getIterationCount()
        : ((MultiLayerNetwork) network).getLayerWiseConfigurations().getIterationCount();
  }

  public Model network() {
    return network;
  }

  /** Chooses how workers synchronise (default {@code auto}). */
  public SyncAveraging sync(Sync mode) {
    this.sync = mode;
    return this;
  }

  /** Whether a round on {@code data} runs as one barrier job. */
  public boolean usesBarrier(JavaSparkContext sc, JavaRDD<MultiDataSet> data) {
    if (sync == Sync.STEPS) {
      return false;
    }
    boolean slots = data.getNumPartitions() <= GraftSpark.slots(sc.sc());
    if (sync == Sync.BARRIER) {
      if (!slots) {
        LOG.warn("Graft: sync barrier needs a task slot per partition ({} partitions, {} slots): this round runs as averaging steps",
            data.getNumPartitions(), GraftSpark.slots(sc.sc()));
      }
      return slots;
    }
    INDArray updater = AveragingStep.updaterState(network);
    long bytes = 4L * (network.numParams() + (updater == null ? 0 : updater.length()));
    long workers = data.getNumPartitions();
    return bytes <= BARRIER_AUTO_MAX_BYTES && workers * workers * bytes <= BARRIER_AUTO_MAX_RELAYED_BYTES && slots
        && !sc.getConf().getBoolean("spark.dynamicAllocation.enabled", false) && !sc.getConf().getBoolean("spark.speculation", false);
  }

  /** Averaging steps per round on {@code data} (the largest partition's minibatches / frequency). */
  public int stepsPerRound(JavaRDD<MultiDataSet> data) {
    int max = 0;
    for (int n : partitionBatches(data)) {
      max = Math.max(max, n);
    }
    return (max + averagingFrequency - 1) / averagingFrequency;
  }

  /**
   * Fits one round on {@code data}: every partition passes over its minibatches once, averaging
   * every {@code averagingFrequency} minibatches.
   *
   * @param progressBefore training progress in [0, 1] when the round starts
   * @param progressAfter training progress when it ends (knobs are interpolated per step)
   */
  public RoundFit fitRound(JavaSparkContext sc, JavaRDD<MultiDataSet> data, int round, double progressBefore, double progressAfter,
      Schedule schedule, StepListener listener) {
    long t0 = System.nanoTime();
    if (usesBarrier(sc, data)) {
      Broadcast<State> start = sc.broadcast(State.of(confJson, network, iteration, Knobs.NONE));
      try {
        BarrierRounds.Outcome r = BarrierRounds.run(sc.sc(), data, start, runKey, graph, averagingFrequency, seed, round, progressBefore,
            progressAfter, schedule);
        // a new learning rate rebuilds DL4J's updater and its state array: fetch the array after it
        applyKnobs(network, r.lastKnobs());
        network.setParams(r.end().params());
        if (r.end().updater() != null) {
          AveragingStep.updaterState(network).assign(r.end().updater());
        }
        iteration = r.end().iteration();
        AveragingStep.setIterationCount(network, iteration);
        if (listener != null) {
          r.steps().forEach(listener::onStep);
        }
        return roundFit(r.losses(), r.stepsPlanned(), r.lastKnobs(), t0, r.time());
      } catch (BarrierRounds.Lost e) {
        // the network is untouched until a barrier round succeeds: the round reruns from the same weights
        LOG.warn("Graft: round {}: the barrier round lost {}; rerunning it as averaging steps from the weights it started with", round,
            e.getMessage());
      } finally {
        start.destroy();
      }
    }
    int steps = stepsPerRound(data);
    Losses losses = new Losses(AveragingStep.outputs(network));
    Knobs knobs = Knobs.NONE;
    for (int step = 0; step < steps; step++) {
      double p = progressBefore + (progressAfter - progressBefore) * step / steps;
      knobs = schedule == null ? Knobs.NONE : schedule.at(p);
      applyKnobs(network, knobs);
      long checksum = checksum(network.params());
      Broadcast<State> state = sc.broadcast(State.of(confJson, network, iteration, knobs));
      Partial total;
      try {
        total = data.mapPartitions(new AveragingStep.FitStep(state, runKey, graph, step, averagingFrequency, seed, round))
            .treeReduce(Partial::merge);
      } finally {
        state.destroy();
      }
      if (total.workers == 0) {
        break;
      }
      iteration = AveragingStep.applyMean(network, total, checksum, iteration, round, step, "executors");
      losses.add(total.losses);
      if (listener != null) {
        listener.onStep(new Step(round, step, iteration, checksum, List.copyOf(total.checksumList), total.workers));
      }
    }
    return roundFit(losses, steps, knobs, t0, null);
  }

  private static RoundFit roundFit(Losses losses, int steps, Knobs knobs, long t0, BarrierRounds.TaskTime taskTime) {
    return new RoundFit(losses.meanLoss(), losses.examples, steps, knobs, (System.nanoTime() - t0) / 1e9, losses.outputLoss,
        losses.outputRows, taskTime);
  }

  private int[] partitionBatches(JavaRDD<MultiDataSet> data) {
    if (partitionBatches == null || cachedRddId != data.id()) {
      List<Integer> counts = data.mapPartitions(it -> {
        int n = 0;
        while (it.hasNext()) {
          it.next();
          n++;
        }
        return List.of(n).iterator();
      }).collect();
      partitionBatches = counts.stream().mapToInt(Integer::intValue).toArray();
      cachedRddId = data.id();
    }
    return partitionBatches;
  }

  /** The order in which a partition of {@code size} minibatches is fitted in {@code round}. */
  public static List<Integer> batchOrder(int size, long seed, int round, int partition) {
    List<Integer> order = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      order.add(i);
    }
    Collections.shuffle(order, new Random((seed * 1_000_003L + round) * 31 + partition));
    return order;
  }

  /** CRC-32 of the float32 bits of {@code params} (what executors and driver compare). */
  public static long checksum(INDArray params) {
    float[] values = params.toFloatVector();
    ByteBuffer bytes = ByteBuffer.allocate(values.length * 4);
    bytes.asFloatBuffer().put(values);
    CRC32 crc = new CRC32();
    crc.update(bytes);
    return crc.getValue();
  }

  /**
   * Sets the step's learning rate, gradient-reversal strength and output loss weights on
   * {@code m}. A loss weight w becomes the output layer's cross-entropy weighted by w in every
   * class, which scales that output's loss and gradient by exactly w. (DL4J label masks are no
   * way to weight a loss: a dense or output layer also multiplies its activations by the mask, so
   * a mask of 2 doubles the softmax probabilities and the gradient is no longer 2x.)
   */
  public static void applyKnobs(Model m, Knobs knobs) {
    if (knobs.outputWeights() != null) {
      ComputationGraph g = (ComputationGraph) m;
      for (int o = 0; o < knobs.outputWeights().length; o++) {
        BaseOutputLayer out = (BaseOutputLayer) g.getOutputLayer(o).conf().getLayer();
        out.setLossFn(new LossMCXENT(Nd4j.valueArrayOf(new long[] {1, out.getNOut()}, knobs.outputWeights()[o])));
      }
    }
    if (!Double.isNaN(knobs.learningRate())) {
      if (m instanceof ComputationGraph g) {
        g.setLearningRate(knobs.learningRate());
      } else {
        ((MultiLayerNetwork) m).setLearningRate(knobs.learningRate());
      }
    }
    if (!Double.isNaN(knobs.reversal())) {
      Layer[] layers = m instanceof ComputationGraph g ? g.getLayers() : ((MultiLayerNetwork) m).getLayers();
      for (Layer l : layers) {
        if (l instanceof GradientReversalLayer r) {
          r.setLambda(knobs.reversal());
        }
      }
    }
  }
}

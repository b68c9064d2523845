package io.graft.engine;

import io.graft.config.TrainingConfig.Sync;
import io.graft.spark.GraftSpark;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import java.util.UUID;
import java.util.zip.CRC32;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;

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
 */
public final class SyncAveraging {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(SyncAveraging.class);
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

  /** One round's training figures. */
  /**
   * One round's training figures. For graphs, {@code outputLoss[o]} is output o's loss summed over
   * the rows it scored (each row's loss times its label mask) and {@code outputRows[o]} how many
   * rows it scored (mask above 0).
   */
  public record RoundFit(double meanLoss, long examples, int steps, Knobs lastKnobs, double wallSeconds, double[] outputLoss,
      long[] outputRows) {}

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
    INDArray updater = updaterState(network);
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
    if (usesBarrier(sc, data)) {
      try {
        return fitRoundBarrier(sc, data, round, progressBefore, progressAfter, schedule, listener);
      } catch (BarrierLost e) {
        // the network is untouched until a barrier round succeeds: the round reruns from the same weights
        LOG.warn("Graft: round {}: the barrier round lost {}; rerunning it as averaging steps from the weights it started with", round,
            e.getMessage());
      }
    }
    long t0 = System.nanoTime();
    int steps = stepsPerRound(data);
    double lossSum = 0;
    long examples = 0;
    Knobs knobs = Knobs.NONE;
    int outputs = graph ? ((ComputationGraph) network).getNumOutputArrays() : 1;
    double[] outputLoss = new double[outputs];
    long[] outputRows = new long[outputs];
    for (int step = 0; step < steps; step++) {
      double p = progressBefore + (progressAfter - progressBefore) * step / steps;
      knobs = schedule == null ? Knobs.NONE : schedule.at(p);
      applyKnobs(network, knobs);
      INDArray params = network.params().dup();
      INDArray updater = updaterState(network);
      long checksum = checksum(params);
      Broadcast<State> state = sc.broadcast(new State(confJson, params, updater == null ? null : updater.dup(), iteration, knobs));
      Partial total;
      try {
        total = data.mapPartitions(new FitStep(state, runKey, graph, step, averagingFrequency, seed, round))
            .treeReduce(Partial::merge);
      } finally {
        state.destroy();
      }
      if (total.workers == 0) {
        break;
      }
      if (total.checksums.size() != 1 || total.checksums.first() != checksum) {
        throw new IllegalStateException("Averaging step " + step + " of round " + round + ": executors started from weights with checksums "
            + total.checksums + ", the broadcast had " + checksum);
      }
      network.setParams(total.params.divi(total.workers));
      if (updater != null) {
        updater.assign(total.updater.divi(total.workers));
      }
      iteration += total.maxBatches;
      setIterationCount(network, iteration);
      lossSum += total.lossSum;
      examples += total.examples;
      for (int o = 0; o < outputs && total.outputLoss != null; o++) {
        outputLoss[o] += total.outputLoss[o];
        outputRows[o] += total.outputRows[o];
      }
      if (listener != null) {
        listener.onStep(new Step(round, step, iteration, checksum, List.copyOf(total.checksumList), total.workers));
      }
    }
    return new RoundFit(examples == 0 ? Double.NaN : lossSum / examples, examples, steps, knobs, (System.nanoTime() - t0) / 1e9, outputLoss,
        outputRows);
  }

  /** {@link #fitRound} as one barrier job: the tasks average among themselves with all-gathers. */
  private RoundFit fitRoundBarrier(JavaSparkContext sc, JavaRDD<MultiDataSet> data, int round, double progressBefore, double progressAfter,
      Schedule schedule, StepListener listener) {
    long t0 = System.nanoTime();
    INDArray updater = updaterState(network);
    Broadcast<State> state = sc.broadcast(new State(confJson, network.params().dup(), updater == null ? null : updater.dup(), iteration,
        Knobs.NONE));
    List<BarrierRound> results;
    org.apache.spark.SparkContext spark = sc.sc();
    String tag = "graft-barrier-" + runKey + "-" + round;
    BarrierWatchdog watchdog = new BarrierWatchdog(spark, tag, data.getNumPartitions());
    spark.addJobTag(tag);
    try {
      // Spark has no Java API for barrier stages: go through the Scala RDD
      results = data.rdd().barrier().mapPartitions(new BarrierFit(state, runKey, graph, averagingFrequency, seed, round, progressBefore,
          progressAfter, schedule), false, scala.reflect.ClassTag$.MODULE$.apply(BarrierRound.class)).toJavaRDD().collect();
    } catch (Exception e) {
      String lost = watchdog.lost() != null ? watchdog.lost() : lostExecutor(e);
      if (lost != null) {
        throw new BarrierLost(lost, e);
      }
      throw e;
    } finally {
      spark.removeJobTag(tag);
      watchdog.close();
      state.destroy();
    }
    // only the first task ships its weights; the others send the checksum of theirs
    BarrierRound r = results.stream().filter(x -> x.params != null).findFirst().orElseThrow();
    for (BarrierRound other : results) {
      if (other.checksum != r.checksum) {
        throw new IllegalStateException("Round " + round + ": barrier tasks ended with different weights (checksums "
            + other.checksum + " and " + r.checksum + ")");
      }
    }
    Knobs knobs = r.steps.isEmpty() ? Knobs.NONE : r.lastKnobs;
    // a new learning rate rebuilds DL4J's updater and its state array: fetch the array after it
    applyKnobs(network, knobs);
    network.setParams(r.params);
    if (updater != null) {
      updaterState(network).assign(r.updater);
    }
    iteration = r.iteration;
    setIterationCount(network, iteration);
    if (listener != null) {
      r.steps.forEach(listener::onStep);
    }
    return new RoundFit(r.examples == 0 ? Double.NaN : r.lossSum / r.examples, r.examples, r.stepsPlanned, knobs,
        (System.nanoTime() - t0) / 1e9, r.outputLoss, r.outputRows);
  }

  /**
   * The executor loss behind a failed barrier job, or null. Spark does not retry a barrier result
   * stage: one lost executor aborts the whole job ("Could not recover from a failed barrier
   * ResultStage"), whereas averaging steps are ordinary tasks Spark retries elsewhere.
   */
  static String lostExecutor(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      String message = t.getMessage();
      int at = message == null ? -1 : message.indexOf("ExecutorLostFailure");
      if (at >= 0) {
        int reason = message.indexOf("Reason: ", at);
        String why = reason < 0 ? "" : message.substring(reason + 8).lines().findFirst().orElse("").trim();
        return "an executor" + (why.isEmpty() ? "" : " (" + why + ")");
      }
    }
    return null;
  }

  /** A barrier round given up because an executor was lost or the cluster has no task slot per partition any more. */
  static final class BarrierLost extends RuntimeException {
    BarrierLost(String what, Throwable cause) {
      super(what, cause);
    }
  }

  /**
   * Watches a barrier round's job: when the cluster has fewer task slots than the round has
   * partitions for {@value #BARRIER_LOST_AFTER_MS} ms (a worker or executor died before the
   * round's tasks started), cancels it. Spark would otherwise keep the stage waiting, without end,
   * for slots that may never come back ("Skip current round of resource offers for barrier stage
   * ... requires 2 slots, while the total number of available slots is 1", every second): it
   * refuses a barrier job short of slots only when the job is submitted.
   */
  static final class BarrierWatchdog implements AutoCloseable {
    static final long BARRIER_LOST_AFTER_MS = 5000;
    private static final long PERIOD_MS = 250;
    private final java.util.concurrent.ScheduledExecutorService timer;
    private volatile String lost;
    private long shortSince = -1;

    BarrierWatchdog(org.apache.spark.SparkContext spark, String tag, int partitions) {
      timer = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "graft-barrier-watchdog");
        t.setDaemon(true);
        return t;
      });
      timer.scheduleAtFixedRate(() -> {
        int slots = GraftSpark.concurrentTasks(spark);
        long now = System.currentTimeMillis();
        if (slots >= partitions) {
          shortSince = -1;
        } else if (shortSince < 0) {
          shortSince = now;
        } else if (lost == null && now - shortSince >= BARRIER_LOST_AFTER_MS) {
          lost = "task slots (" + slots + " left for " + partitions + " partitions) and was cancelled";
          spark.cancelJobsWithTag(tag);
        }
      }, PERIOD_MS, PERIOD_MS, java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    /** Why the round was cancelled, or null. */
    String lost() {
      return lost;
    }

    @Override
    public void close() {
      timer.shutdownNow();
    }
  }

  /** What a barrier task returns after its round (every task ends with the same weights). */
  static final class BarrierRound implements Serializable {
    /** The weights and updater state: sent by partition 0 only (every task ends with the same). */
    INDArray params;
    long checksum;
    INDArray updater;
    long iteration;
    int stepsPlanned;
    double lossSum;
    long examples;
    double[] outputLoss;
    long[] outputRows;
    Knobs lastKnobs = Knobs.NONE;
    final List<Step> steps = new ArrayList<>();
  }

  /** Executor side of a barrier round: fit a window, all-gather, average, repeat. */
  static final class BarrierFit
      extends scala.runtime.AbstractFunction1<scala.collection.Iterator<MultiDataSet>, scala.collection.Iterator<BarrierRound>>
      implements Serializable {
    private final Broadcast<State> state;
    private final String runKey;
    private final boolean graph;
    private final int frequency;
    private final long seed;
    private final int round;
    private final double progressBefore;
    private final double progressAfter;
    private final Schedule schedule;

    BarrierFit(Broadcast<State> state, String runKey, boolean graph, int frequency, long seed, int round, double progressBefore,
        double progressAfter, Schedule schedule) {
      this.state = state;
      this.runKey = runKey;
      this.graph = graph;
      this.frequency = frequency;
      this.seed = seed;
      this.round = round;
      this.progressBefore = progressBefore;
      this.progressAfter = progressAfter;
      this.schedule = schedule;
    }

    @Override
    public scala.collection.Iterator<BarrierRound> apply(scala.collection.Iterator<MultiDataSet> batches) {
      try {
        return scala.collection.JavaConverters.asScalaIterator(call(scala.collection.JavaConverters.asJavaIterator(batches)));
      } catch (RuntimeException e) {
        throw e;
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }

    Iterator<BarrierRound> call(Iterator<MultiDataSet> batches) throws Exception {
      BarrierTaskContext ctx = BarrierTaskContext.get();
      List<MultiDataSet> all = new ArrayList<>();
      batches.forEachRemaining(all::add);
      int largest = 0;
      for (String n : allGather(ctx, Integer.toString(all.size()))) {
        largest = Math.max(largest, Integer.parseInt(n));
      }
      int steps = (largest + frequency - 1) / frequency;
      List<Integer> order = batchOrder(all.size(), seed, round, ctx.partitionId());
      State s = state.value();
      Model net = NetworkPool.borrow(runKey, graph, s.confJson());
      BarrierRound out = new BarrierRound();
      out.stepsPlanned = steps;
      try {
        net.setParams(s.params());
        INDArray updater = updaterState(net);
        if (updater != null && s.updater() != null) {
          updater.assign(s.updater());
        }
        long iteration = s.iteration();
        setIterationCount(net, iteration);
        int outputs = net instanceof ComputationGraph g ? g.getNumOutputArrays() : 1;
        out.outputLoss = new double[outputs];
        out.outputRows = new long[outputs];
        for (int step = 0; step < steps; step++) {
          double p = progressBefore + (progressAfter - progressBefore) * step / steps;
          Knobs knobs = schedule == null ? Knobs.NONE : schedule.at(p);
          applyKnobs(net, knobs);
          long start = checksum(net.params());
          int from = step * frequency;
          Partial mine = from < all.size() ? fitWindow(net, all, order, from, frequency, start) : new Partial();
          Partial total = new Partial();
          for (String message : allGather(ctx, encode(mine))) {
            total = total.merge(decode(message));
          }
          if (total.workers == 0) {
            break;
          }
          if (total.checksums.size() != 1 || total.checksums.first() != start) {
            throw new IllegalStateException("Averaging step " + step + " of round " + round + ": tasks started from weights with checksums "
                + total.checksums + ", this task from " + start);
          }
          net.setParams(total.params.divi(total.workers));
          if (updater != null) {
            // not the array fetched before the step: a learning-rate knob rebuilds the updater and its state array
            updaterState(net).assign(total.updater.divi(total.workers));
          }
          iteration += total.maxBatches;
          setIterationCount(net, iteration);
          out.lossSum += total.lossSum;
          out.examples += total.examples;
          for (int o = 0; o < outputs && total.outputLoss != null; o++) {
            out.outputLoss[o] += total.outputLoss[o];
            out.outputRows[o] += total.outputRows[o];
          }
          out.lastKnobs = knobs;
          out.steps.add(new Step(round, step, iteration, start, new ArrayList<>(total.checksumList), total.workers));
        }
        out.checksum = checksum(net.params());
        if (ctx.partitionId() == 0) {
          out.params = net.params().dup();
          INDArray after = updaterState(net);
          out.updater = after == null ? null : after.dup();
        }
        out.iteration = iteration;
      } finally {
        NetworkPool.release(runKey, net);
      }
      return List.of(out).iterator();
    }

    /**
     * {@code ctx.allGather}, without Spark's 1 s latency. Spark 3.5's BarrierTaskContext waits for
     * the coordinator's answer by polling its RPC future with {@code Thread.sleep(1000)}, so every
     * all-gather took up to a second (3.1 s per head round at 1k rows, 12x slower than a job per
     * step). The sleep is interruptible and the loop treats an interrupt as "look again"; a helper
     * thread interrupts the waiting task thread every {@value #WAKE_MICROS} us until the answer is
     * back, and the interrupt flag is cleared before training goes on.
     */
    static String[] allGather(BarrierTaskContext ctx, String message) {
      Thread task = Thread.currentThread();
      java.util.concurrent.atomic.AtomicBoolean waiting = new java.util.concurrent.atomic.AtomicBoolean(true);
      Thread waker = new Thread(() -> {
        while (waiting.get()) {
          task.interrupt();
          java.util.concurrent.locks.LockSupport.parkNanos(WAKE_MICROS * 1000L);
        }
      }, "graft-barrier-waker");
      waker.setDaemon(true);
      waker.start();
      try {
        return ctx.allGather(message);
      } finally {
        waiting.set(false);
        boolean joined = false;
        while (!joined) {
          try {
            Thread.interrupted();
            waker.join();
            joined = true;
          } catch (InterruptedException lastWake) {
            // the waker's last interrupt; join again
          }
        }
        Thread.interrupted();
      }
    }

    static final int WAKE_MICROS = 500;

    private static String encode(Partial p) throws java.io.IOException {
      java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
      try (java.io.ObjectOutputStream out = new java.io.ObjectOutputStream(bytes)) {
        out.writeObject(p);
      }
      return java.util.Base64.getEncoder().encodeToString(bytes.toByteArray());
    }

    private static Partial decode(String message) throws java.io.IOException, ClassNotFoundException {
      try (java.io.ObjectInputStream in = new java.io.ObjectInputStream(new java.io.ByteArrayInputStream(
          java.util.Base64.getDecoder().decode(message)))) {
        return (Partial) in.readObject();
      }
    }
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
    java.util.Collections.shuffle(order, new Random((seed * 1_000_003L + round) * 31 + partition));
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
        org.deeplearning4j.nn.conf.layers.BaseOutputLayer out =
            (org.deeplearning4j.nn.conf.layers.BaseOutputLayer) g.getOutputLayer(o).conf().getLayer();
        out.setLossFn(new org.nd4j.linalg.lossfunctions.impl.LossMCXENT(
            org.nd4j.linalg.factory.Nd4j.valueArrayOf(new long[] {1, out.getNOut()}, knobs.outputWeights()[o])));
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
      org.deeplearning4j.nn.api.Layer[] layers = m instanceof ComputationGraph g ? g.getLayers() : ((MultiLayerNetwork) m).getLayers();
      for (org.deeplearning4j.nn.api.Layer l : layers) {
        if (l instanceof io.graft.adapt.GradientReversalLayer r) {
          r.setLambda(knobs.reversal());
        }
      }
    }
  }

  /**
   * One worker's share of an averaging step: fits minibatches {@code from .. from + frequency} of
   * its partition in {@code order} and returns what it trained (weights, updater state, losses).
   */
  static Partial fitWindow(Model net, List<MultiDataSet> all, List<Integer> order, int from, int frequency, long startChecksum) {
    Partial out = new Partial();
    int to = Math.min(all.size(), from + frequency);
    int outputs = net instanceof ComputationGraph g ? g.getNumOutputArrays() : 1;
    out.outputLoss = new double[outputs];
    out.outputRows = new long[outputs];
    for (int i = from; i < to; i++) {
      MultiDataSet batch = all.get(order.get(i));
      if (net instanceof ComputationGraph g) {
        g.fit(batch);
      } else {
        ((MultiLayerNetwork) net).fit(batch);
      }
      long n = batch.getFeatures(0).size(0);
      out.lossSum += net.score() * n;
      out.examples += n;
      for (int o = 0; o < outputs; o++) {
        double score = net instanceof ComputationGraph g ? g.getOutputLayer(o).score() : net.score();
        out.outputLoss[o] += score * n;
        INDArray mask = batch.getLabelsMaskArrays() == null ? null : batch.getLabelsMaskArray(o);
        out.outputRows[o] += mask == null ? n : mask.gt(0).castTo(org.nd4j.linalg.api.buffer.DataType.INT).sumNumber().longValue();
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

  /** The broadcast of one step. */
  record State(String confJson, INDArray params, INDArray updater, long iteration, Knobs knobs) implements Serializable {}

  /** One or more partitions' results, summed. */
  static final class Partial implements Serializable {
    INDArray params;
    INDArray updater;
    int workers;
    int maxBatches;
    double lossSum;
    long examples;
    double[] outputLoss;
    long[] outputRows;
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
      lossSum += o.lossSum;
      examples += o.examples;
      if (outputLoss != null) {
        for (int i = 0; i < outputLoss.length; i++) {
          outputLoss[i] += o.outputLoss[i];
          outputRows[i] += o.outputRows[i];
        }
      }
      checksums.addAll(o.checksums);
      checksumList.addAll(o.checksumList);
      return this;
    }
  }

  /** Executor side of a step: holds the broadcast and primitives only. */
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
      Partial out = new Partial();
      if (from >= all.size()) {
        return List.of(out).iterator();
      }
      List<Integer> order = batchOrder(all.size(), seed, round, TaskContext.getPartitionId());
      State s = state.value();
      Model net = NetworkPool.borrow(runKey, graph, s.confJson());
      try {
        net.setParams(s.params());
        INDArray updater = updaterState(net);
        if (updater != null && s.updater() != null) {
          updater.assign(s.updater());
        }
        setIterationCount(net, s.iteration());
        applyKnobs(net, s.knobs());
        out = fitWindow(net, all, order, from, frequency, checksum(net.params()));
      } finally {
        NetworkPool.release(runKey, net);
      }
      return List.of(out).iterator();
    }
  }
}

package io.graft.engine;

import io.graft.engine.AveragingStep.Losses;
import io.graft.engine.AveragingStep.Partial;
import io.graft.engine.AveragingStep.State;
import io.graft.engine.SyncAveraging.Knobs;
import io.graft.engine.SyncAveraging.Schedule;
import io.graft.engine.SyncAveraging.Step;
import io.graft.spark.GraftSpark;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.broadcast.Broadcast;
import org.deeplearning4j.nn.api.Model;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import scala.collection.JavaConverters;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;

/**
 * A round of {@link SyncAveraging} as one Spark barrier job: every partition's task keeps its
 * network for the whole round, and after each window of minibatches the tasks exchange their
 * results with {@code BarrierTaskContext.allGather} and each applies the same average
 * ({@link AveragingStep#applyMean}) in partition order. Spark does not retry a barrier stage, so
 * a lost executor, or a cluster left without a task slot per partition, ends the round with
 * {@link Lost} and the driver reruns it as averaging steps from the weights it started with.
 */
final class BarrierRounds {
  private BarrierRounds() {}

  /** A barrier round given up because an executor was lost or the cluster has no task slot per partition any more. */
  static final class Lost extends RuntimeException {
    Lost(String what, Throwable cause) {
      super(what, cause);
    }
  }

  /** What a barrier round trained: partition 0's final state and every step it averaged. */
  record Outcome(State end, Losses losses, int stepsPlanned, Knobs lastKnobs, List<Step> steps, TaskTime time) {}

  /**
   * Where barrier tasks spent a round, in seconds summed over the tasks: fitting their minibatches,
   * waiting in the all-gather (for the slowest task, and the exchange itself), and averaging
   * (encoding their state, summing the others', setting the mean).
   */
  public record TaskTime(double fitting, double waiting, double averaging) implements Serializable {
    static final TaskTime NONE = new TaskTime(0, 0, 0);

    TaskTime plus(TaskTime o) {
      return new TaskTime(fitting + o.fitting, waiting + o.waiting, averaging + o.averaging);
    }

    double total() {
      return fitting + waiting + averaging;
    }
  }

  /**
   * Runs round {@code round} on {@code data} from {@code start} and returns where the tasks ended
   * (they all end with the same weights; the driver checks it).
   *
   * @throws Lost when an executor or a task slot was lost before the round finished
   */
  static Outcome run(SparkContext spark, JavaRDD<MultiDataSet> data, Broadcast<State> start, String runKey, boolean graph, int frequency,
      long seed, int round, double progressBefore, double progressAfter, Schedule schedule) {
    String tag = "graft-barrier-" + runKey + "-" + round;
    List<Result> results;
    Watchdog watchdog = new Watchdog(spark, tag, data.getNumPartitions());
    spark.addJobTag(tag);
    try {
      // Spark has no Java API for barrier stages: go through the Scala RDD
      results = data.rdd().barrier().mapPartitions(new Fit(start, runKey, graph, frequency, seed, round, progressBefore, progressAfter,
          schedule), false, ClassTag$.MODULE$.apply(Result.class)).toJavaRDD().collect();
    } catch (Exception e) {
      String lost = watchdog.lost() != null ? watchdog.lost() : lostExecutor(e);
      if (lost != null) {
        throw new Lost(lost, e);
      }
      throw e;
    } finally {
      spark.removeJobTag(tag);
      watchdog.close();
    }
    // only the first task ships its weights; the others send the checksum of theirs
    Result first = results.stream().filter(x -> x.end != null).findFirst().orElseThrow();
    for (Result other : results) {
      if (other.checksum != first.checksum) {
        throw new IllegalStateException("Round " + round + ": barrier tasks ended with different weights (checksums " + other.checksum + " and "
            + first.checksum + ")");
      }
    }
    TaskTime time = TaskTime.NONE;
    for (Result r : results) {
      time = time.plus(r.time);
    }
    return new Outcome(first.end, first.losses, first.stepsPlanned, first.lastKnobs, first.steps, time);
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

  /**
   * Watches a barrier round's job: when the cluster has fewer task slots than the round has
   * partitions for {@value #LOST_AFTER_MS} ms (a worker or executor died before the round's tasks
   * started), cancels it. Spark would otherwise keep the stage waiting, without end, for slots
   * that may never come back ("Skip current round of resource offers for barrier stage ...
   * requires 2 slots, while the total number of available slots is 1", every second): it refuses
   * a barrier job short of slots only when the job is submitted.
   */
  static final class Watchdog implements AutoCloseable {
    static final long LOST_AFTER_MS = 5000;
    private static final long PERIOD_MS = 250;
    private final ScheduledExecutorService timer;
    private volatile String lost;
    private long shortSince = -1;

    Watchdog(SparkContext spark, String tag, int partitions) {
      timer = Executors.newSingleThreadScheduledExecutor(r -> {
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
        } else if (lost == null && now - shortSince >= LOST_AFTER_MS) {
          lost = "task slots (" + slots + " left for " + partitions + " partitions) and was cancelled";
          spark.cancelJobsWithTag(tag);
        }
      }, PERIOD_MS, PERIOD_MS, TimeUnit.MILLISECONDS);
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

  /** What a barrier task returns after its round. */
  static final class Result implements Serializable {
    /** The final weights and updater state: sent by partition 0 only (every task ends with the same). */
    State end;
    long checksum;
    int stepsPlanned;
    Losses losses;
    Knobs lastKnobs = Knobs.NONE;
    final List<Step> steps = new ArrayList<>();
    /** This task's time in the round. */
    TaskTime time = TaskTime.NONE;
  }

  /** Executor side of a barrier round: fit a window, all-gather, average, repeat. */
  static final class Fit extends AbstractFunction1<scala.collection.Iterator<MultiDataSet>, scala.collection.Iterator<Result>>
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

    Fit(Broadcast<State> state, String runKey, boolean graph, int frequency, long seed, int round, double progressBefore, double progressAfter,
        Schedule schedule) {
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
    public scala.collection.Iterator<Result> apply(scala.collection.Iterator<MultiDataSet> batches) {
      try {
        return JavaConverters.asScalaIterator(call(JavaConverters.asJavaIterator(batches)));
      } catch (RuntimeException e) {
        throw e;
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }

    Iterator<Result> call(Iterator<MultiDataSet> batches) throws IOException, ClassNotFoundException {
      BarrierTaskContext ctx = BarrierTaskContext.get();
      List<MultiDataSet> all = new ArrayList<>();
      batches.forEachRemaining(all::add);
      int largest = 0;
      for (String n : allGather(ctx, Integer.toString(all.size()))) {
        largest = Math.max(largest, Integer.parseInt(n));
      }
      Result out = new Result();
      out.stepsPlanned = (largest + frequency - 1) / frequency;
      List<Integer> order = SyncAveraging.batchOrder(all.size(), seed, round, ctx.partitionId());
      State s = state.value();
      Model net = s.borrow(runKey, graph);
      try {
        long iteration = s.iteration();
        out.losses = new Losses(AveragingStep.outputs(net));
        for (int step = 0; step < out.stepsPlanned; step++) {
          long stepStart = System.nanoTime();
          double p = progressBefore + (progressAfter - progressBefore) * step / out.stepsPlanned;
          Knobs knobs = schedule == null ? Knobs.NONE : schedule.at(p);
          SyncAveraging.applyKnobs(net, knobs);
          long start = SyncAveraging.checksum(net.params());
          int from = step * frequency;
          long fitStart = System.nanoTime();
          Partial mine = from < all.size() ? AveragingStep.fitWindow(net, all, order, from, frequency, start) : new Partial();
          long fitEnd = System.nanoTime();
          String message = encode(mine);
          long sent = System.nanoTime();
          String[] gathered = allGather(ctx, message);
          long gatheredAt = System.nanoTime();
          Partial total = new Partial();
          for (int i = 0; i < gathered.length; i++) {
            // this task's own message decodes to `mine` exactly (raw float bytes): sum it without the round trip
            total = total.merge(i == ctx.partitionId() ? mine : decode(gathered[i]));
          }
          if (total.workers == 0) {
            break;
          }
          iteration = AveragingStep.applyMean(net, total, start, iteration, round, step, "tasks");
          out.time = out.time.plus(new TaskTime((fitEnd - fitStart) / 1e9, (gatheredAt - sent) / 1e9,
              (fitStart - stepStart + sent - fitEnd + System.nanoTime() - gatheredAt) / 1e9));
          out.losses.add(total.losses);
          out.lastKnobs = knobs;
          out.steps.add(new Step(round, step, iteration, start, new ArrayList<>(total.checksumList), total.workers));
        }
        out.checksum = SyncAveraging.checksum(net.params());
        if (ctx.partitionId() == 0) {
          out.end = State.of(s.confJson(), net, iteration, out.lastKnobs);
        }
      } finally {
        NetworkPool.release(runKey, net);
      }
      return List.of(out).iterator();
    }
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
    AtomicBoolean waiting = new AtomicBoolean(true);
    Thread waker = new Thread(() -> {
      while (waiting.get()) {
        task.interrupt();
        LockSupport.parkNanos(WAKE_MICROS * 1000L);
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

  /**
   * A task's partial result as one all-gather message. The weights and updater state go as raw float
   * bytes: Java serialization of an INDArray writes it element by element (about 15 ms to write and 17 ms
   * to read the 3.4 MB of a small ResNet's weights and Adam state), a bulk copy takes a fraction of that.
   */
  static String encode(Partial p) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      INDArray params = p.params;
      INDArray updater = p.updater;
      p.params = null;
      p.updater = null;
      try {
        out.writeObject(p);
      } finally {
        p.params = params;
        p.updater = updater;
      }
      writeArray(out, params);
      writeArray(out, updater);
    }
    return Base64.getEncoder().encodeToString(bytes.toByteArray());
  }

  static Partial decode(String message) throws IOException, ClassNotFoundException {
    try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(Base64.getDecoder().decode(message)))) {
      Partial p = (Partial) in.readObject();
      p.params = readArray(in);
      p.updater = readArray(in);
      return p;
    }
  }

  private static void writeArray(ObjectOutputStream out, INDArray a) throws IOException {
    if (a == null || a.dataType() != DataType.FLOAT) {
      out.writeBoolean(false);
      out.writeObject(a); // absent, or not float: Java serialization
      return;
    }
    out.writeBoolean(true);
    out.writeObject(a.shape());
    INDArray c = Shape.hasDefaultStridesForShape(a) ? a : a.dup('c');
    byte[] raw = new byte[(int) c.length() * Float.BYTES];
    ByteBuffer data = c.data().asNio().duplicate();
    data.position((int) c.offset() * Float.BYTES);
    data.get(raw);
    out.writeInt(raw.length);
    out.write(raw);
  }

  private static INDArray readArray(ObjectInputStream in) throws IOException, ClassNotFoundException {
    if (!in.readBoolean()) {
      return (INDArray) in.readObject();
    }
    long[] shape = (long[]) in.readObject();
    byte[] raw = new byte[in.readInt()];
    in.readFully(raw);
    float[] values = new float[raw.length / Float.BYTES];
    ByteBuffer.wrap(raw).order(ByteOrder.nativeOrder()).asFloatBuffer().get(values);
    return Nd4j.create(values, shape, 'c');
  }
}

package io.graft.engine;

import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerStageSubmitted;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.deeplearning4j.nn.api.Model;

/**
 * Progress within a long round, on the console: the Spark tasks the round has finished (every job
 * a round runs carries "round N/M" in its job description, whichever engine trains it), their rate,
 * the time so far and, from the second round on, the share done and the time left, estimated from
 * the previous round's task count. On a terminal ({@link ConsoleLog#inPlace()}) one status line is
 * rewritten every second and erased when the round ends; otherwise a plain line every
 * {@code interval} while a round runs, and rounds shorter than that print none.
 */
public final class RoundProgress extends SparkListener implements RoundListener, AutoCloseable {
  private static final Pattern ROUND = Pattern.compile("round (\\d+)/");
  private static final String DESCRIPTION = "spark.job.description";
  private static final long IN_PLACE_MILLIS = 1_000;

  private final SparkContext sc;
  private final Consumer<String> out;
  private final ConsoleLog console;
  private final long intervalMillis;
  private final Map<Integer, Integer> roundOfStage = new ConcurrentHashMap<>();
  private final Map<Integer, AtomicInteger> tasksDone = new ConcurrentHashMap<>();
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "graft-round-progress");
    t.setDaemon(true);
    return t;
  });
  private ScheduledFuture<?> ticking;
  private int previousRoundTasks;

  /** Listens to {@code sc}'s tasks until {@link #close()}; lines go to {@code out}. */
  public RoundProgress(SparkContext sc, Consumer<String> out, long intervalMillis) {
    this.sc = sc;
    this.console = out instanceof ConsoleLog c && c.inPlace() ? c : null;
    this.out = console == null ? out : console::status;
    this.intervalMillis = console == null ? intervalMillis : Math.min(intervalMillis, IN_PLACE_MILLIS);
    sc.addSparkListener(this);
  }

  @Override
  public void onStageSubmitted(SparkListenerStageSubmitted event) {
    Properties p = event.properties();
    String description = p == null ? null : p.getProperty(DESCRIPTION);
    if (description != null) {
      Matcher m = ROUND.matcher(description);
      if (m.find()) {
        roundOfStage.put(event.stageInfo().stageId(), Integer.parseInt(m.group(1)));
      }
    }
  }

  @Override
  public void onTaskEnd(SparkListenerTaskEnd event) {
    Integer round = roundOfStage.get(event.stageId());
    if (round != null && event.taskInfo().successful()) {
      tasksDone.computeIfAbsent(round, r -> new AtomicInteger()).incrementAndGet();
    }
  }

  @Override
  public synchronized void onRoundStart(int round, int rounds) {
    stopTicking();
    long started = System.nanoTime();
    int estimate = previousRoundTasks;
    ticking = timer.scheduleAtFixedRate(() -> out.accept(line(round, rounds, done(round), estimate, (System.nanoTime() - started) / 1e9)),
        intervalMillis, intervalMillis, TimeUnit.MILLISECONDS);
  }

  @Override
  public synchronized void onRound(RoundMetrics metrics, Model network) {
    stopTicking();
    previousRoundTasks = done(metrics.round());
  }

  private int done(int round) {
    AtomicInteger n = tasksDone.get(round);
    return n == null ? 0 : n.get();
  }

  /** "round 2/6: 48 of ~120 tasks (40%), 1.4 tasks/s, 35 s, ETA 52s"; without an estimate, the tasks, rate and time so far. */
  static String line(int round, int rounds, int done, int estimate, double seconds) {
    String rate = String.format("%.2g tasks/s", seconds > 0 ? done / seconds : 0.0);
    if (estimate <= 0 || done == 0) {
      return String.format("round %d/%d: %,d tasks done, %s, %.0f s", round, rounds, done, rate, seconds);
    }
    double share = Math.min(1.0, (double) done / estimate);
    String left = done >= estimate ? "finishing" : "ETA " + ProgressReporter.formatDuration(seconds / share - seconds);
    return String.format("round %d/%d: %,d of ~%,d tasks (%.0f%%), %s, %.0f s, %s", round, rounds, done, estimate, 100 * share, rate,
        seconds, left);
  }

  private void stopTicking() {
    if (ticking != null) {
      ticking.cancel(false);
      ticking = null;
    }
    if (console != null) {
      console.clearStatus();
    }
  }

  @Override
  public synchronized void close() {
    stopTicking();
    timer.shutdownNow();
    sc.removeSparkListener(this);
  }
}

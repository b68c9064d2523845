package io.graft.jobs.importer;

import java.time.Duration;
import java.util.function.Consumer;
import org.apache.spark.util.LongAccumulator;

/**
 * Reports a long import while it runs: files done of files listed, rate and time left, every
 * {@code every} from a daemon thread on the driver. The count comes from an accumulator that
 * Spark merges as tasks finish, so it moves in steps of one task's files.
 */
final class ImportProgress implements AutoCloseable {
  private final LongAccumulator done;
  private final long total;
  private final Consumer<String> log;
  private final long start = System.nanoTime();
  private final Thread thread;

  ImportProgress(LongAccumulator done, long total, Duration every, Consumer<String> log) {
    this.done = done;
    this.total = total;
    this.log = log;
    this.thread = new Thread(() -> {
      try {
        while (true) {
          Thread.sleep(every.toMillis());
          log.accept(line());
        }
      } catch (InterruptedException e) {
        // closed
      }
    }, "graft-import-progress");
    thread.setDaemon(true);
    thread.start();
  }

  double seconds() {
    return (System.nanoTime() - start) / 1e9;
  }

  String line() {
    long n = Math.min(total, done.value());
    double s = seconds();
    double rate = n / Math.max(s, 1e-9);
    String eta = n == 0 ? "unknown" : format((total - n) / Math.max(rate, 1e-9));
    return String.format("decoded %,d of %,d files (%.1f %%), %,.0f files/s, %s elapsed, ETA %s", n, total, 100.0 * n / Math.max(1, total), rate,
        format(s), eta);
  }

  static String format(double seconds) {
    long s = Math.round(seconds);
    return s >= 3600 ? String.format("%dh%02dm", s / 3600, s / 60 % 60) : s >= 60 ? String.format("%dm%02ds", s / 60, s % 60) : s + "s";
  }

  @Override
  public void close() {
    thread.interrupt();
  }
}

package io.graft.engine;

import java.util.Set;
import java.util.function.Consumer;
import org.deeplearning4j.nn.api.Model;

/**
 * Prints one line per round: round k/N, losses, every accuracy the round measured (held-out,
 * probe, per domain or task), the reversal strength where there is one, throughput, where barrier
 * tasks spent the round (fitting, waiting for the slowest at an averaging, averaging) and the time
 * left. The other figures go to {@code metrics.jsonl} only.
 */
public final class ProgressReporter implements RoundListener {
  private static final Set<String> SHOWN = Set.of("lambda");
  private final Consumer<String> out;
  private double elapsed;
  private int roundsSeen;

  /** @param out where the lines go (the job's log, which names the job) */
  public ProgressReporter(Consumer<String> out) {
    this.out = out;
  }

  @Override
  public void onRound(RoundMetrics m, Model network) {
    elapsed += m.wallSeconds();
    roundsSeen++;
    double eta = elapsed / roundsSeen * (m.rounds() - m.round());
    StringBuilder figures = new StringBuilder();
    if (!Double.isNaN(m.evalAccuracy())) {
      figures.append(String.format("  %s accuracy %.2f%%", m.evalSet(), 100 * m.evalAccuracy()));
    }
    m.extra().forEach((k, v) -> {
      if (k.endsWith("accuracy")) {
        figures.append(String.format("  %s %.2f%%", k.replace('_', ' '), 100 * v));
      } else if (SHOWN.contains(k)) {
        figures.append(String.format("  %s %.4g", k.replace('_', ' '), v));
      }
    });
    Double fitting = m.extra().get(SyncAveraging.RoundFit.FITTING_SHARE);
    String tasks = fitting == null ? "" : String.format("  tasks %.0f%% fitting, %.0f%% waiting, %.0f%% averaging", 100 * fitting,
        100 * m.extra().getOrDefault(SyncAveraging.RoundFit.WAITING_SHARE, 0.0),
        100 * m.extra().getOrDefault(SyncAveraging.RoundFit.AVERAGING_SHARE, 0.0));
    out.accept(String.format("%sround %d/%d  train loss %.4f  %s loss %.4f%s  %,.0f samples/s%s  %.1f s  ETA %s",
        m.stage() == null ? "" : m.stage() + ": ", m.round(), m.rounds(), m.trainLoss(), m.evalSet(), m.evalLoss(), figures,
        m.samplesPerSecond(), tasks, m.wallSeconds(), formatDuration(eta)));
  }

  static String formatDuration(double seconds) {
    long s = Math.round(seconds);
    return s >= 3600 ? String.format("%dh%02dm", s / 3600, (s % 3600) / 60)
        : s >= 60 ? String.format("%dm%02ds", s / 60, s % 60) : s + "s";
  }
}

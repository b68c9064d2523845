package io.graft.engine;

import java.util.function.Consumer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;

/** Prints one line per round: round k/N, losses, accuracy, throughput and the time left. */
public final class ProgressReporter implements RoundListener {
  private final String job;
  private final Consumer<String> out;
  private double elapsed;
  private int roundsSeen;

  public ProgressReporter(String job, Consumer<String> out) {
    this.job = job;
    this.out = out;
  }

  @Override
  public void onRound(RoundMetrics m, MultiLayerNetwork network) {
    elapsed += m.wallSeconds();
    roundsSeen++;
    double eta = elapsed / roundsSeen * (m.rounds() - m.round());
    StringBuilder figures = new StringBuilder();
    if (!Double.isNaN(m.evalAccuracy())) {
      figures.append(String.format("  %s accuracy %.2f%%", m.evalSet(), 100 * m.evalAccuracy()));
    }
    m.extra().forEach((k, v) -> figures.append(k.endsWith("accuracy") ? String.format("  %s %.2f%%", k.replace('_', ' '), 100 * v)
        : String.format("  %s %.4g", k.replace('_', ' '), v)));
    out.accept(String.format("[%s]%s round %d/%d  train loss %.4f  %s loss %.4f%s  %,.0f samples/s  %.1f s  ETA %s",
        job, m.stage() == null ? "" : " " + m.stage() + ":", m.round(), m.rounds(), m.trainLoss(), m.evalSet(), m.evalLoss(), figures,
        m.samplesPerSecond(), m.wallSeconds(), formatDuration(eta)));
  }

  static String formatDuration(double seconds) {
    long s = Math.round(seconds);
    return s >= 3600 ? String.format("%dh%02dm", s / 3600, (s % 3600) / 60)
        : s >= 60 ? String.format("%dm%02ds", s / 60, s % 60) : s + "s";
  }
}

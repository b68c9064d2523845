package io.graft.engine;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What one training round measured. A round is one pass over the training data, ended by an
 * evaluation on the held-out set and a checkpoint.
 */
public record RoundMetrics(
    int round, int rounds, double trainLoss, double testLoss, double testAccuracy, long samples, double samplesPerSecond, double wallSeconds) {

  /** The line written to {@code metrics.jsonl} (snake_case keys). */
  public Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("round", round);
    m.put("rounds", rounds);
    m.put("train_loss", trainLoss);
    m.put("test_loss", testLoss);
    m.put("test_accuracy", testAccuracy);
    m.put("samples", samples);
    m.put("samples_per_s", samplesPerSecond);
    m.put("wall_s", wallSeconds);
    return m;
  }

  public static RoundMetrics fromMap(Map<String, Object> m) {
    return new RoundMetrics(
        ((Number) m.get("round")).intValue(),
        ((Number) m.get("rounds")).intValue(),
        ((Number) m.get("train_loss")).doubleValue(),
        ((Number) m.get("test_loss")).doubleValue(),
        ((Number) m.get("test_accuracy")).doubleValue(),
        ((Number) m.get("samples")).longValue(),
        ((Number) m.get("samples_per_s")).doubleValue(),
        ((Number) m.get("wall_s")).doubleValue());
  }
}

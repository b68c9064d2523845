package io.graft.engine;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What one training round measured. A round is one pass over the training data, ended by an
 * evaluation on a held-out set ({@code evalSet}: "test" for pre-training, "val" for fine-tuning)
 * and a checkpoint.
 */
public record RoundMetrics(
    int round,
    int rounds,
    String stage,
    String evalSet,
    double trainLoss,
    double evalLoss,
    double evalAccuracy,
    long samples,
    double samplesPerSecond,
    double wallSeconds,
    double learningRate) {

  /** The line written to {@code metrics.jsonl} (snake_case keys, e.g. {@code test_accuracy}). */
  public Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("round", round);
    m.put("rounds", rounds);
    if (stage != null) {
      m.put("stage", stage);
    }
    m.put("eval_set", evalSet);
    m.put("train_loss", trainLoss);
    m.put(evalSet + "_loss", evalLoss);
    m.put(evalSet + "_accuracy", evalAccuracy);
    m.put("samples", samples);
    m.put("samples_per_s", samplesPerSecond);
    m.put("wall_s", wallSeconds);
    m.put("learning_rate", learningRate);
    return m;
  }

  public static RoundMetrics fromMap(Map<String, Object> m) {
    String evalSet = (String) m.get("eval_set");
    return new RoundMetrics(
        ((Number) m.get("round")).intValue(),
        ((Number) m.get("rounds")).intValue(),
        (String) m.get("stage"),
        evalSet,
        ((Number) m.get("train_loss")).doubleValue(),
        ((Number) m.get(evalSet + "_loss")).doubleValue(),
        ((Number) m.get(evalSet + "_accuracy")).doubleValue(),
        ((Number) m.get("samples")).longValue(),
        ((Number) m.get("samples_per_s")).doubleValue(),
        ((Number) m.get("wall_s")).doubleValue(),
        ((Number) m.get("learning_rate")).doubleValue());
  }
}

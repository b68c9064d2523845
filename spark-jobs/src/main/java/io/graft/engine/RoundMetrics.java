package io.graft.engine;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * What one training round measured. A round is one pass over the training data, ended by an
 * evaluation on a held-out set ({@code evalSet}: "test" for pre-training, "val" for fine-tuning)
 * and a checkpoint. {@code evalAccuracy} is NaN where the objective has no accuracy (a
 * self-supervised round without a probe) and is then left out of {@code metrics.jsonl};
 * {@code extra} holds the objective's own figures ({@code probe_accuracy}, {@code pair_accuracy}).
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
    double learningRate,
    Map<String, Double> extra) {

  public RoundMetrics {
    extra = extra == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(extra));
  }

  public RoundMetrics(int round, int rounds, String stage, String evalSet, double trainLoss, double evalLoss, double evalAccuracy,
      long samples, double samplesPerSecond, double wallSeconds, double learningRate) {
    this(round, rounds, stage, evalSet, trainLoss, evalLoss, evalAccuracy, samples, samplesPerSecond, wallSeconds, learningRate, null);
  }

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
    if (!Double.isNaN(evalAccuracy)) {
      m.put(evalSet + "_accuracy", evalAccuracy);
    }
    m.put("samples", samples);
    m.put("samples_per_s", samplesPerSecond);
    m.put("wall_s", wallSeconds);
    m.put("learning_rate", learningRate);
    m.putAll(extra);
    return m;
  }

  private static final Set<String> FIXED = Set.of("round", "rounds", "stage", "eval_set", "train_loss", "samples",
      "samples_per_s", "wall_s", "learning_rate");

  public static RoundMetrics fromMap(Map<String, Object> m) {
    String evalSet = (String) m.get("eval_set");
    Map<String, Double> extra = new LinkedHashMap<>();
    m.forEach((k, v) -> {
      if (!FIXED.contains(k) && !k.equals(evalSet + "_loss") && !k.equals(evalSet + "_accuracy") && v instanceof Number n) {
        extra.put(k, n.doubleValue());
      }
    });
    Object accuracy = m.get(evalSet + "_accuracy");
    return new RoundMetrics(
        ((Number) m.get("round")).intValue(),
        ((Number) m.get("rounds")).intValue(),
        (String) m.get("stage"),
        evalSet,
        ((Number) m.get("train_loss")).doubleValue(),
        ((Number) m.get(evalSet + "_loss")).doubleValue(),
        accuracy == null ? Double.NaN : ((Number) accuracy).doubleValue(),
        ((Number) m.get("samples")).longValue(),
        ((Number) m.get("samples_per_s")).doubleValue(),
        ((Number) m.get("wall_s")).doubleValue(),
        ((Number) m.get("learning_rate")).doubleValue(),
        extra);
  }
}

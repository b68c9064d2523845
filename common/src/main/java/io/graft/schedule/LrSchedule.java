package io.graft.schedule;

import java.util.Objects;
import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * A learning-rate schedule over a stage's iterations, with linear warm-up: {@code constant},
 * {@code step} (times {@code gamma} every {@code stepIterations}), {@code cosine} (to
 * {@code minFactor} of the base rate) and {@code one-cycle} (up to the base rate over the first
 * 30 %, then cosine down to {@code minFactor}). It lives inside each layer's updater, so it
 * travels to Spark workers in the model's JSON and follows the averaged iteration count.
 */
public class LrSchedule implements ISchedule {
  /** The schedule shapes. */
  public enum Kind {
    CONSTANT,
    STEP,
    COSINE,
    ONE_CYCLE;

    @Override
    public String toString() {
      return name().toLowerCase().replace('_', '-');
    }
  }

  private final Kind kind;
  private final double base;
  private final long totalIterations;
  private final long warmupIterations;
  private final long stepIterations;
  private final double gamma;
  private final double minFactor;

  public LrSchedule(@JsonProperty("kind") Kind kind, @JsonProperty("base") double base,
      @JsonProperty("totalIterations") long totalIterations, @JsonProperty("warmupIterations") long warmupIterations,
      @JsonProperty("stepIterations") long stepIterations, @JsonProperty("gamma") double gamma,
      @JsonProperty("minFactor") double minFactor) {
    this.kind = kind;
    this.base = base;
    this.totalIterations = Math.max(1, totalIterations);
    this.warmupIterations = warmupIterations;
    this.stepIterations = Math.max(1, stepIterations);
    this.gamma = gamma;
    this.minFactor = minFactor;
  }

  /** The same shape at another base rate (discriminative rates scale each layer's). */
  public LrSchedule scaled(double factor) {
    return new LrSchedule(kind, base * factor, totalIterations, warmupIterations, stepIterations, gamma, minFactor);
  }

  @Override
  public double valueAt(int iteration, int epoch) {
    double rate = switch (kind) {
      case CONSTANT -> base;
      case STEP -> base * Math.pow(gamma, Math.floor((double) iteration / stepIterations));
      case COSINE -> cosine(base, iteration, 0, totalIterations);
      case ONE_CYCLE -> {
        long up = Math.max(1, Math.round(0.3 * totalIterations));
        yield iteration < up ? base * (0.04 + 0.96 * iteration / (double) up) : cosine(base, iteration, up, totalIterations);
      }
    };
    if (iteration < warmupIterations && kind != Kind.ONE_CYCLE) {
      rate *= (iteration + 1) / (double) (warmupIterations + 1);
    }
    return rate;
  }

  private double cosine(double b, long it, long start, long end) {
    double p = Math.min(1.0, Math.max(0.0, (it - start) / (double) Math.max(1, end - start)));
    double min = b * minFactor;
    return min + (b - min) * 0.5 * (1 + Math.cos(Math.PI * p));
  }

  @Override
  public ISchedule clone() {
    return new LrSchedule(kind, base, totalIterations, warmupIterations, stepIterations, gamma, minFactor);
  }

  public Kind getKind() {
    return kind;
  }

  public double getBase() {
    return base;
  }

  public long getTotalIterations() {
    return totalIterations;
  }

  public long getWarmupIterations() {
    return warmupIterations;
  }

  public long getStepIterations() {
    return stepIterations;
  }

  public double getGamma() {
    return gamma;
  }

  public double getMinFactor() {
    return minFactor;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof LrSchedule s && s.kind == kind && s.base == base && s.totalIterations == totalIterations
        && s.warmupIterations == warmupIterations && s.stepIterations == stepIterations && s.gamma == gamma && s.minFactor == minFactor;
  }

  @Override
  public int hashCode() {
    return Objects.hash(kind, base, totalIterations, warmupIterations, stepIterations, gamma, minFactor);
  }
}

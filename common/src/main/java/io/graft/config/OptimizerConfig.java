package io.graft.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.learning.config.RmsProp;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.schedule.ISchedule;

/**
 * The optimiser: updater kind, learning rate and its companions, and weight decay.
 *
 * @param updater adam, sgd, nesterovs or rmsprop
 * @param learningRate step size, must be positive
 * @param momentum for nesterovs; Adam's beta1 is fixed at 0.9
 * @param weightDecay decoupled weight decay coefficient (DL4J WeightDecay), 0 disables
 * @param l2 L2 penalty added to the loss, 0 disables
 */
public record OptimizerConfig(Updater updater, double learningRate, double momentum, double weightDecay, double l2) {

  /** Updater kinds Graft configures. */
  public enum Updater {
    ADAM,
    SGD,
    NESTEROVS,
    RMSPROP;

    @Override
    public String toString() {
      return name().toLowerCase();
    }
  }

  @JsonCreator
  public OptimizerConfig(
      @JsonProperty("updater") Updater updater,
      @JsonProperty("learningRate") Double learningRate,
      @JsonProperty("momentum") Double momentum,
      @JsonProperty("weightDecay") Double weightDecay,
      @JsonProperty("l2") Double l2) {
    this(
        updater == null ? Updater.ADAM : updater,
        learningRate == null ? 1e-3 : learningRate,
        momentum == null ? 0.9 : momentum,
        weightDecay == null ? 0.0 : weightDecay,
        l2 == null ? 0.0 : l2);
  }

  public OptimizerConfig {
    ConfigException.require(learningRate > 0 && Double.isFinite(learningRate),
        "optimizer.learningRate must be positive, cannot be: %s", learningRate);
    ConfigException.require(momentum >= 0 && momentum < 1, "optimizer.momentum must be in [0, 1), cannot be: %s", momentum);
    ConfigException.require(weightDecay >= 0, "optimizer.weightDecay must be non-negative, cannot be: %s", weightDecay);
    ConfigException.require(l2 >= 0, "optimizer.l2 must be non-negative, cannot be: %s", l2);
  }

  public static OptimizerConfig defaults() {
    return new OptimizerConfig((Updater) null, null, null, null, null);
  }

  /** The DL4J updater at {@code rate} (the configured rate unless a schedule says otherwise). */
  public IUpdater toUpdater(double rate) {
    return switch (updater) {
      case ADAM -> new Adam(rate);
      case SGD -> new Sgd(rate);
      case NESTEROVS -> new Nesterovs(rate, momentum);
      case RMSPROP -> new RmsProp(rate);
    };
  }

  /** The DL4J updater whose rate follows {@code schedule} (per iteration). */
  public IUpdater toUpdater(ISchedule schedule) {
    return switch (updater) {
      case ADAM -> new Adam(schedule);
      case SGD -> new Sgd(schedule);
      case NESTEROVS -> new Nesterovs(schedule, momentum);
      case RMSPROP -> new RmsProp(schedule);
    };
  }

  public IUpdater toUpdater() {
    return toUpdater(learningRate);
  }
}

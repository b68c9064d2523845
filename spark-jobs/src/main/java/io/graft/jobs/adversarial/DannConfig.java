package io.graft.jobs.adversarial;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.graft.config.ConfigException;
import io.graft.config.Input;
import io.graft.config.OptimizerConfig;
import io.graft.config.TrainingConfig;
import io.graft.config.UnusedKeys;
import io.graft.model.ModelConfig;
import java.io.Serializable;

/**
 * {@code graft dann}'s configuration: labelled source, unlabelled target, the trunk and the
 * adversarial schedule. {@code adversarial.lambda: 0} is the source-only baseline (the domain
 * classifier still trains and is reported, but no gradient reaches the trunk from it).
 */
@UnusedKeys(value = {"training.engine", "training.approach", "training.prefetch"},
    reason = "dann trains its two-headed graph with Graft's own averaging, which has no engine choice, export approach or prefetch; remove the key")
public record DannConfig(Domain source, Domain target, ModelConfig model, @Input String pretrained, Adversarial adversarial,
    OptimizerConfig optimizer, TrainingConfig training, String output) {

  /**
   * One domain's data.
   *
   * @param train rows to train on (the target's labels, if any, are never used for training)
   * @param test held-out rows, labelled, for evaluation; when absent {@code holdoutFraction} of
   *     train is held out
   * @param holdoutFraction share of train held out when there is no test set
   * @param splitSeed the seed of that holdout; {@code null} uses {@code training.seed}. Fixing it
   *     compares training seeds on one held-out set, so their spread is the training's alone
   * @param transductive target only: train on every target row, unlabelled, and score the labelled
   *     ones (the transductive protocol of domain adaptation: the unlabelled inputs to adapt to are
   *     the ones to be labelled); no holdout
   * @param adaptBatchNorm target only: after training, the target model's batch-norm layers get the
   *     mean and variance of their inputs over the target's training rows (AdaBN, Li et al. 2016)
   *     instead of the running averages of training's mixed minibatches
   */
  public record Domain(@Input String train, @Input String test, double holdoutFraction, Long splitSeed, boolean transductive,
      boolean adaptBatchNorm) {
    @JsonCreator
    public Domain(@JsonProperty("train") String train, @JsonProperty("test") String test,
        @JsonProperty("holdoutFraction") Double holdoutFraction, @JsonProperty("splitSeed") Long splitSeed,
        @JsonProperty("transductive") Boolean transductive, @JsonProperty("adaptBatchNorm") Boolean adaptBatchNorm) {
      this(train, test, holdoutFraction == null ? 0.3 : holdoutFraction.doubleValue(), splitSeed, Boolean.TRUE.equals(transductive),
          Boolean.TRUE.equals(adaptBatchNorm));
    }

    public Domain {
      ConfigException.require(train != null && !train.isBlank(), "source.train and target.train are required (datasets written by 'graft import')");
      ConfigException.require(holdoutFraction > 0 && holdoutFraction < 1, "holdoutFraction must be in (0, 1), cannot be: %s", holdoutFraction);
    }
  }

  /**
   * The adversarial schedule (Ganin et al., 2016). At training progress p in [0, 1], the reversal
   * strength is {@code lambda * (2 / (1 + exp(-gamma p)) - 1)} and the learning rate
   * {@code optimizer.learningRate / (1 + annealA p)^annealB}.
   *
   * @param lambda the final reversal strength; 0 trains source-only
   * @param gamma how fast the reversal ramps up
   * @param annealA learning-rate annealing factor a (0 keeps the rate constant)
   * @param annealB learning-rate annealing exponent b
   * @param domainHidden width of the domain classifier's hidden layer (0: a linear classifier)
   */
  public record Adversarial(double lambda, double gamma, double annealA, double annealB, int domainHidden)
      implements Serializable {
    @JsonCreator
    public Adversarial(@JsonProperty("lambda") Double lambda, @JsonProperty("gamma") Double gamma,
        @JsonProperty("annealA") Double annealA, @JsonProperty("annealB") Double annealB,
        @JsonProperty("domainHidden") Integer domainHidden) {
      this(lambda == null ? 1.0 : lambda, gamma == null ? 10.0 : gamma, annealA == null ? 10.0 : annealA,
          annealB == null ? 0.75 : annealB, domainHidden == null ? 100 : domainHidden);
    }

    public Adversarial {
      ConfigException.require(lambda >= 0 && Double.isFinite(lambda), "adversarial.lambda must be non-negative, cannot be: %s", lambda);
      ConfigException.require(gamma > 0, "adversarial.gamma must be positive, cannot be: %s", gamma);
      ConfigException.require(annealA >= 0, "adversarial.annealA must be non-negative, cannot be: %s", annealA);
      ConfigException.require(annealB >= 0, "adversarial.annealB must be non-negative, cannot be: %s", annealB);
      ConfigException.require(domainHidden >= 0, "adversarial.domainHidden must be non-negative, cannot be: %s", domainHidden);
    }

    static Adversarial defaults() {
      return new Adversarial((Double) null, null, null, null, null);
    }

    /** The reversal strength at progress {@code p}. */
    public double lambdaAt(double p) {
      return lambda * (2.0 / (1.0 + Math.exp(-gamma * p)) - 1.0);
    }

    /** The learning rate at progress {@code p}. */
    public double learningRateAt(double baseRate, double p) {
      return baseRate / Math.pow(1 + annealA * p, annealB);
    }
  }

  @JsonCreator
  public DannConfig(
      @JsonProperty("source") Domain source,
      @JsonProperty("target") Domain target,
      @JsonProperty("model") ModelConfig model,
      @JsonProperty("pretrained") String pretrained,
      @JsonProperty("adversarial") Adversarial adversarial,
      @JsonProperty("optimizer") OptimizerConfig optimizer,
      @JsonProperty("training") TrainingConfig training,
      @JsonProperty("output") String output) {
    this.source = source;
    this.target = target;
    this.model = model == null ? ModelConfig.defaults() : model;
    this.pretrained = pretrained == null || pretrained.isBlank() ? null : pretrained;
    this.adversarial = adversarial == null ? Adversarial.defaults() : adversarial;
    this.optimizer = optimizer == null ? OptimizerConfig.defaults() : optimizer;
    this.training = training == null ? TrainingConfig.defaults() : training;
    this.output = output;
    ConfigException.require(source != null, "source.train is required (the labelled domain)");
    ConfigException.require(target != null, "target.train is required (the unlabelled domain)");
    ConfigException.require(!source.transductive(), "source.transductive is not a thing: the source is labelled; set target.transductive");
    ConfigException.require(!source.adaptBatchNorm(), "source.adaptBatchNorm is not a thing: the exported model serves the target; set "
        + "target.adaptBatchNorm");
    ConfigException.require(!target.transductive() || target.test() == null,
        "target.transductive scores the target's own rows; it cannot take target.test (%s)", target.test());
    ConfigException.require(output != null && !output.isBlank(), "output is required (where the model is written)");
    ConfigException.require(this.training.batchSizePerWorker() >= 2,
        "training.batchSizePerWorker must be at least 2 (half source, half target), cannot be: %s", this.training.batchSizePerWorker());
  }
}

package io.graft.jobs.pretrain;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.graft.config.ConfigException;
import io.graft.config.Input;
import io.graft.config.OptimizerConfig;
import io.graft.config.TrainingConfig;
import io.graft.data.Augmentation;
import io.graft.model.ModelConfig;
import io.graft.selfsup.Objective;

/**
 * {@code graft pretrain}'s configuration (YAML, with {@code --set} overrides). See the README's
 * "Pre-training config" table for every key and its default.
 */
public record PretrainConfig(Data data, ModelConfig model, OptimizerConfig optimizer, TrainingConfig training, String output,
    Objective objective, Augmentation augmentation, Probe probe) {

  /**
   * Where the rows come from.
   *
   * @param train the training dataset (a Graft Parquet dataset)
   * @param test the held-out dataset evaluated every round; when absent, {@code holdoutFraction}
   *     of train is held out
   * @param holdoutFraction share of train held out when there is no test set
   * @param maxTestRows cap on the held-out rows evaluated every round, drawn at random with the
   *     seed (0: all)
   */
  public record Data(@Input String train, @Input String test, double holdoutFraction, long maxTestRows) {
    @JsonCreator
    public Data(@JsonProperty("train") String train, @JsonProperty("test") String test,
        @JsonProperty("holdoutFraction") Double holdoutFraction, @JsonProperty("maxTestRows") Long maxTestRows) {
      this(train, test, holdoutFraction == null ? 0.1 : holdoutFraction, maxTestRows == null ? 0 : maxTestRows);
    }

    public Data {
      ConfigException.require(train != null && !train.isBlank(), "data.train is required (a dataset written by 'graft import')");
      ConfigException.require(holdoutFraction > 0 && holdoutFraction < 1,
          "data.holdoutFraction must be in (0, 1), cannot be: %s", holdoutFraction);
      ConfigException.require(maxTestRows >= 0, "data.maxTestRows must be non-negative (0: all), cannot be: %s", maxTestRows);
    }
  }

  /**
   * The linear probe that measures a self-supervised encoder: multinomial logistic regression
   * (Spark ML) on the frozen outputs of {@code layer} for {@code labelsPerClass} labelled rows of
   * {@code train} per class, scored on {@code test}. It runs on the initial (random) encoder, every
   * {@code every} rounds and after the last, and its accuracy goes into {@code metrics.jsonl}.
   *
   * @param train labelled dataset the probe is fitted on (e.g. the source's own training set)
   * @param test labelled dataset it is scored on (default: {@code data.test})
   * @param labelsPerClass labelled rows per class, drawn stratified with the training seed
   * @param layer the encoder layer probed (default: the layer below the self-supervised head)
   * @param every probe after every this many rounds (the last round is always probed)
   * @param maxTestRows cap on the test rows scored
   * @param regParam L2 strength of the logistic regression
   * @param maxIter L-BFGS iterations
   */
  public record Probe(@Input String train, @Input String test, int labelsPerClass, String layer, int every, long maxTestRows, double regParam,
      int maxIter) {
    @JsonCreator
    public Probe(@JsonProperty("train") String train, @JsonProperty("test") String test,
        @JsonProperty("labelsPerClass") Integer labelsPerClass, @JsonProperty("layer") String layer, @JsonProperty("every") Integer every,
        @JsonProperty("maxTestRows") Long maxTestRows, @JsonProperty("regParam") Double regParam, @JsonProperty("maxIter") Integer maxIter) {
      this(train, test, labelsPerClass == null ? 10 : labelsPerClass, layer, every == null ? 1 : every,
          maxTestRows == null ? 10_000 : maxTestRows, regParam == null ? 1e-3 : regParam, maxIter == null ? 100 : maxIter);
    }

    public Probe {
      ConfigException.require(train != null && !train.isBlank(), "probe.train is required (a labelled dataset)");
      ConfigException.require(labelsPerClass >= 1, "probe.labelsPerClass must be at least 1, cannot be: %s", labelsPerClass);
      ConfigException.require(every >= 1, "probe.every must be at least 1, cannot be: %s", every);
      ConfigException.require(maxTestRows >= 10, "probe.maxTestRows must be at least 10, cannot be: %s", maxTestRows);
      ConfigException.require(regParam >= 0, "probe.regParam must be non-negative, cannot be: %s", regParam);
      ConfigException.require(maxIter >= 1, "probe.maxIter must be at least 1, cannot be: %s", maxIter);
    }
  }

  @JsonCreator
  public PretrainConfig(
      @JsonProperty("data") Data data,
      @JsonProperty("model") ModelConfig model,
      @JsonProperty("optimizer") OptimizerConfig optimizer,
      @JsonProperty("training") TrainingConfig training,
      @JsonProperty("output") String output,
      @JsonProperty("objective") Objective objective,
      @JsonProperty("augmentation") Augmentation augmentation,
      @JsonProperty("probe") Probe probe) {
    this.data = data;
    this.model = model == null ? ModelConfig.defaults() : model;
    this.optimizer = optimizer == null ? OptimizerConfig.defaults() : optimizer;
    this.training = training == null ? TrainingConfig.defaults() : training;
    this.output = output;
    this.objective = objective == null ? Objective.supervised() : objective;
    this.augmentation = augmentation == null ? Augmentation.none() : augmentation;
    this.probe = probe;
    ConfigException.require(data != null, "data.train is required (a dataset written by 'graft import')");
    ConfigException.require(output != null && !output.isBlank(), "output is required (where the model is written)");
    ConfigException.require(this.objective.kind() != Objective.Kind.CONTRASTIVE || this.augmentation.enabled(),
        "A contrastive objective needs an augmentation (two identical views teach nothing): set augmentation.crop, shift, rotation, "
            + "flip, noise, brightness, contrast, saturation or hue");
    ConfigException.require(this.objective.kind() != Objective.Kind.CONTRASTIVE || this.training.batchSizePerWorker() % 2 == 0,
        "A contrastive objective needs an even training.batchSizePerWorker (two views per example), cannot be: %s",
        this.training.batchSizePerWorker());
    ConfigException.require(probe == null || probe.test() != null || data.test() != null,
        "probe.test is required when data.test is not set (the probe is scored on labelled test rows)");
  }

  /** The probe's test set: its own or the job's. */
  public String probeTest() {
    return probe == null ? null : probe.test() != null ? probe.test() : data.test();
  }
}

package io.graft.jobs.finetune;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.graft.config.ConfigException;
import io.graft.config.Input;
import io.graft.config.OptimizerConfig;
import io.graft.config.TrainingConfig;
import io.graft.data.Augmentation;
import io.graft.schedule.LrSchedule;
import java.util.List;

/**
 * {@code graft finetune}'s configuration. A {@code strategy} preset expands into stages; an
 * explicit {@code stages} list replaces the preset. See docs/finetune.md for every key.
 */
public record FinetuneConfig(
    @Input String source,
    Data data,
    SurgeryConfig surgery,
    Strategy strategy,
    int epochs,
    int headEpochs,
    double alpha,
    double fullRateFactor,
    AdapterConfig adapters,
    LoraConfig lora,
    ScheduleConfig schedule,
    List<StageConfig> stages,
    OptimizerConfig optimizer,
    Augmentation augmentation,
    EarlyStopping earlyStopping,
    TrainingConfig training,
    String output) {

  /** The strategy presets. */
  public enum Strategy {
    SCRATCH,
    FEATURE_EXTRACTION,
    FULL,
    TWO_STAGE,
    GRADUAL_UNFREEZE,
    DISCRIMINATIVE,
    ADAPTERS,
    LORA;

    @Override
    public String toString() {
      return name().toLowerCase().replace('_', '-');
    }
  }

  /**
   * @param train target training dataset
   * @param test target test dataset, scored once at the end
   * @param labelsPerClass stratified subset of train: this many rows per class (0: all)
   * @param validationFraction share of the (subset) training rows held out for per-round
   *     validation and early stopping
   */
  public record Data(@Input String train, @Input String test, int labelsPerClass, double validationFraction) {
    @JsonCreator
    public Data(@JsonProperty("train") String train, @JsonProperty("test") String test,
        @JsonProperty("labelsPerClass") Integer labelsPerClass, @JsonProperty("validationFraction") Double validationFraction) {
      this(train, test, labelsPerClass == null ? 0 : labelsPerClass, validationFraction == null ? 0.1 : validationFraction);
    }

    public Data {
      ConfigException.require(train != null && !train.isBlank(), "data.train is required");
      ConfigException.require(test != null && !test.isBlank(), "data.test is required (the target's held-out test set)");
      ConfigException.require(labelsPerClass >= 0, "data.labelsPerClass must be non-negative (0: all), cannot be: %s", labelsPerClass);
      ConfigException.require(validationFraction > 0 && validationFraction < 1,
          "data.validationFraction must be in (0, 1), cannot be: %s", validationFraction);
    }
  }

  /**
   * @param removeLayers top layers to drop besides the output (by name)
   * @param addLayers dense layers added below the new output
   * @param freezeBatchNorm BatchNorm in frozen parts stays frozen in inference mode (default) or trains
   * @param groups for graph models, the parameter groups of discriminative rates and gradual unfreezing: {@code stages} (vertices
   *     sharing the name before the first dot: {@code stage2.block1.conv1} in {@code stage2}; the default) or {@code layers}
   */
  public record SurgeryConfig(List<String> removeLayers, List<AddLayer> addLayers, boolean freezeBatchNorm, String groups) {
    @JsonCreator
    public SurgeryConfig(@JsonProperty("removeLayers") List<String> removeLayers, @JsonProperty("addLayers") List<AddLayer> addLayers,
        @JsonProperty("freezeBatchNorm") Boolean freezeBatchNorm, @JsonProperty("groups") String groups) {
      this(removeLayers == null ? List.of() : List.copyOf(removeLayers), addLayers == null ? List.of() : List.copyOf(addLayers),
          freezeBatchNorm == null || freezeBatchNorm, groups == null ? "stages" : groups);
    }
  }

  /** A dense layer added to the head. */
  public record AddLayer(String name, int width, String activation) {
    @JsonCreator
    public AddLayer(@JsonProperty("name") String name, @JsonProperty("width") int width, @JsonProperty("activation") String activation) {
      this.name = name;
      this.width = width;
      this.activation = activation == null ? "relu" : activation;
      ConfigException.require(name != null && !name.isBlank(), "surgery.addLayers entries need a name");
    }
  }

  /** Where adapters go and their bottleneck width. */
  public record AdapterConfig(List<String> after, int size) {
    @JsonCreator
    public AdapterConfig(@JsonProperty("after") List<String> after, @JsonProperty("size") Integer size) {
      this(after == null ? List.of() : List.copyOf(after), size == null ? 32 : size);
    }
  }

  /**
   * Low-rank updates W + B·A on dense and convolution layers.
   *
   * @param layers the layers (vertex or group names) that get them; empty: every dense and convolution layer below the head
   * @param rank r, the rank of B·A
   */
  public record LoraConfig(List<String> layers, int rank) {
    @JsonCreator
    public LoraConfig(@JsonProperty("layers") List<String> layers, @JsonProperty("rank") Integer rank) {
      this(layers == null ? List.of() : List.copyOf(layers), rank == null ? 4 : rank);
    }

    public LoraConfig {
      ConfigException.require(rank >= 1, "lora.rank must be at least 1, cannot be: %s", rank);
    }
  }

  /** A learning-rate schedule within each stage, in epochs. */
  public record ScheduleConfig(LrSchedule.Kind kind, double warmupEpochs, double stepEpochs, double gamma, double minFactor) {
    @JsonCreator
    public ScheduleConfig(@JsonProperty("kind") LrSchedule.Kind kind, @JsonProperty("warmupEpochs") Double warmupEpochs,
        @JsonProperty("stepEpochs") Double stepEpochs, @JsonProperty("gamma") Double gamma, @JsonProperty("minFactor") Double minFactor) {
      this(kind == null ? LrSchedule.Kind.CONSTANT : kind, warmupEpochs == null ? 0 : warmupEpochs, stepEpochs == null ? 1 : stepEpochs,
          gamma == null ? 0.5 : gamma, minFactor == null ? 0.01 : minFactor);
    }

    public ScheduleConfig {
      ConfigException.require(warmupEpochs >= 0, "schedule.warmupEpochs must be non-negative, cannot be: %s", warmupEpochs);
      ConfigException.require(stepEpochs > 0, "schedule.stepEpochs must be positive, cannot be: %s", stepEpochs);
      ConfigException.require(gamma > 0 && gamma <= 1, "schedule.gamma must be in (0, 1], cannot be: %s", gamma);
      ConfigException.require(minFactor >= 0 && minFactor <= 1, "schedule.minFactor must be in [0, 1], cannot be: %s", minFactor);
    }

    public static ScheduleConfig constant() {
      return new ScheduleConfig((LrSchedule.Kind) null, null, null, null, null);
    }
  }

  /**
   * One stage.
   *
   * @param name shown in progress lines and metrics
   * @param trainFrom the lowest trainable layer: a layer name, {@code all}, {@code head} (the new
   *     output and added layers), {@code adapters} (the adapters and the head) or {@code lora} (the
   *     LoRA matrices and the head)
   * @param epochs rounds in this stage
   * @param learningRate base rate of the top layer (default: optimizer.learningRate)
   * @param alpha discriminative factor: layer group l of L trains at rate * alpha^(L-l); 1 = uniform
   * @param schedule this stage's schedule (default: the top-level schedule)
   * @param cacheFeatures compute the frozen base's outputs once and train the rest on them
   */
  public record StageConfig(String name, String trainFrom, int epochs, Double learningRate, double alpha, ScheduleConfig schedule,
      boolean cacheFeatures) {
    @JsonCreator
    public StageConfig(@JsonProperty("name") String name, @JsonProperty("trainFrom") String trainFrom,
        @JsonProperty("epochs") Integer epochs, @JsonProperty("learningRate") Double learningRate, @JsonProperty("alpha") Double alpha,
        @JsonProperty("schedule") ScheduleConfig schedule, @JsonProperty("cacheFeatures") Boolean cacheFeatures) {
      this(name == null ? "stage" : name, trainFrom == null ? "all" : trainFrom, epochs == null ? 1 : epochs, learningRate,
          alpha == null ? 1.0 : alpha, schedule, cacheFeatures == null || cacheFeatures);
    }

    public StageConfig {
      ConfigException.require(epochs >= 1, "stage '%s': epochs must be at least 1, cannot be: %s", name, epochs);
      ConfigException.require(learningRate == null || learningRate > 0, "stage '%s': learningRate must be positive, cannot be: %s", name, learningRate);
      ConfigException.require(alpha > 0 && alpha <= 1, "stage '%s': alpha must be in (0, 1], cannot be: %s", name, alpha);
    }
  }

  /** Stop a stage after {@code patience} rounds without a better validation accuracy; keep the best round's model. */
  public record EarlyStopping(int patience) {
    public EarlyStopping {
      ConfigException.require(patience >= 1, "earlyStopping.patience must be at least 1, cannot be: %s", patience);
    }
  }

  @JsonCreator
  public FinetuneConfig(
      @JsonProperty("source") String source,
      @JsonProperty("data") Data data,
      @JsonProperty("surgery") SurgeryConfig surgery,
      @JsonProperty("strategy") Strategy strategy,
      @JsonProperty("epochs") Integer epochs,
      @JsonProperty("headEpochs") Integer headEpochs,
      @JsonProperty("alpha") Double alpha,
      @JsonProperty("fullRateFactor") Double fullRateFactor,
      @JsonProperty("adapters") AdapterConfig adapters,
      @JsonProperty("lora") LoraConfig lora,
      @JsonProperty("schedule") ScheduleConfig schedule,
      @JsonProperty("stages") List<StageConfig> stages,
      @JsonProperty("optimizer") OptimizerConfig optimizer,
      @JsonProperty("augmentation") Augmentation augmentation,
      @JsonProperty("earlyStopping") EarlyStopping earlyStopping,
      @JsonProperty("training") TrainingConfig training,
      @JsonProperty("output") String output) {
    this(source, data, surgery == null ? new SurgeryConfig(null, null, null, null) : surgery,
        strategy == null ? Strategy.TWO_STAGE : strategy, epochs == null ? 10 : epochs, headEpochs == null ? 2 : headEpochs,
        alpha == null ? 0.3 : alpha, fullRateFactor == null ? 0.1 : fullRateFactor,
        adapters == null ? new AdapterConfig(null, null) : adapters, lora == null ? new LoraConfig(null, null) : lora,
        schedule == null ? ScheduleConfig.constant() : schedule,
        stages == null ? List.of() : List.copyOf(stages), optimizer == null ? OptimizerConfig.defaults() : optimizer,
        augmentation == null ? Augmentation.none() : augmentation, earlyStopping,
        training == null ? TrainingConfig.defaults() : training, output);
  }

  public FinetuneConfig {
    ConfigException.require(source != null && !source.isBlank(), "source is required (a Graft model folder or a DL4J model zip)");
    ConfigException.require(data != null, "data.train and data.test are required");
    ConfigException.require(output != null && !output.isBlank(), "output is required (where the fine-tuned model is written)");
    ConfigException.require(epochs >= 1, "epochs must be at least 1, cannot be: %s", epochs);
    ConfigException.require(headEpochs >= 1, "headEpochs must be at least 1, cannot be: %s", headEpochs);
    ConfigException.require(alpha > 0 && alpha <= 1, "alpha must be in (0, 1], cannot be: %s", alpha);
    ConfigException.require(fullRateFactor > 0 && fullRateFactor <= 1, "fullRateFactor must be in (0, 1], cannot be: %s", fullRateFactor);
    ConfigException.require(adapters.size() >= 1, "adapters.size must be at least 1, cannot be: %s", adapters.size());
  }
}

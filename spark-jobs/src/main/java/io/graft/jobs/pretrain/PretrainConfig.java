package io.graft.jobs.pretrain;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.graft.config.ConfigException;
import io.graft.config.OptimizerConfig;
import io.graft.config.TrainingConfig;
import io.graft.model.ModelConfig;

/**
 * {@code graft pretrain}'s configuration (YAML, with {@code --set} overrides). See the README's
 * "Pre-training config" table for every key and its default.
 */
public record PretrainConfig(Data data, ModelConfig model, OptimizerConfig optimizer, TrainingConfig training, String output) {

  /**
   * Where the rows come from.
   *
   * @param train the training dataset (a Graft Parquet dataset)
   * @param test the held-out dataset evaluated every round; when absent, {@code holdoutFraction}
   *     of train is held out
   * @param holdoutFraction share of train held out when there is no test set
   */
  public record Data(String train, String test, double holdoutFraction) {
    @JsonCreator
    public Data(@JsonProperty("train") String train, @JsonProperty("test") String test,
        @JsonProperty("holdoutFraction") Double holdoutFraction) {
      this(train, test, holdoutFraction == null ? 0.1 : holdoutFraction);
    }

    public Data {
      ConfigException.require(train != null && !train.isBlank(), "data.train is required (a dataset written by 'graft import')");
      ConfigException.require(holdoutFraction > 0 && holdoutFraction < 1,
          "data.holdoutFraction must be in (0, 1), cannot be: %s", holdoutFraction);
    }
  }

  @JsonCreator
  public PretrainConfig(
      @JsonProperty("data") Data data,
      @JsonProperty("model") ModelConfig model,
      @JsonProperty("optimizer") OptimizerConfig optimizer,
      @JsonProperty("training") TrainingConfig training,
      @JsonProperty("output") String output) {
    this.data = data;
    this.model = model == null ? ModelConfig.defaults() : model;
    this.optimizer = optimizer == null ? OptimizerConfig.defaults() : optimizer;
    this.training = training == null ? TrainingConfig.defaults() : training;
    this.output = output;
    ConfigException.require(data != null, "data.train is required (a dataset written by 'graft import')");
    ConfigException.require(output != null && !output.isBlank(), "output is required (where the model is written)");
  }
}

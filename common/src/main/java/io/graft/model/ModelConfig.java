package io.graft.model;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.graft.config.ConfigException;
import java.util.List;

/**
 * Which architecture to build and its sizes. Layer names are stable so later stages (surgery,
 * freezing, probes) can refer to them: MLP {@code dense1..denseN, output}; LeNet
 * {@code conv1, pool1, conv2, pool2, dense1, output}; ResNet (a DL4J ComputationGraph)
 * {@code stem, stage1.block1, ..., stageS.blockB, pool, output} (see {@link Architectures#resnet}).
 *
 * @param architecture mlp, lenet or resnet
 * @param hidden MLP hidden widths, one per dense layer
 * @param convChannels LeNet filter counts of the two 5x5 convolutions
 * @param dense LeNet width of the dense layer after the convolutions
 * @param dropout dropout probability on dense layers (0 disables)
 * @param activation hidden activation (relu, tanh, leakyrelu, ...)
 * @param batchNorm lenet: batch normalisation after each convolution ({@code bn1}, {@code bn2})
 * @param stages resnet: residual blocks per stage
 * @param widths resnet: channels per stage (the stem has the first stage's)
 */
public record ModelConfig(
    Architecture architecture, List<Integer> hidden, List<Integer> convChannels, int dense, double dropout, String activation,
    boolean batchNorm, List<Integer> stages, List<Integer> widths) {

  /** The architectures Graft builds. */
  public enum Architecture {
    MLP,
    LENET,
    RESNET;

    @Override
    public String toString() {
      return name().toLowerCase();
    }
  }

  @JsonCreator
  public ModelConfig(
      @JsonProperty("architecture") Architecture architecture,
      @JsonProperty("hidden") List<Integer> hidden,
      @JsonProperty("convChannels") List<Integer> convChannels,
      @JsonProperty("dense") Integer dense,
      @JsonProperty("dropout") Double dropout,
      @JsonProperty("activation") String activation,
      @JsonProperty("batchNorm") Boolean batchNorm,
      @JsonProperty("stages") List<Integer> stages,
      @JsonProperty("widths") List<Integer> widths) {
    this(
        architecture == null ? Architecture.LENET : architecture,
        hidden == null ? List.of(256, 128) : List.copyOf(hidden),
        convChannels == null ? List.of(20, 50) : List.copyOf(convChannels),
        dense == null ? 500 : dense,
        dropout == null ? 0.0 : dropout,
        activation == null ? "relu" : activation,
        batchNorm != null && batchNorm,
        stages == null ? List.of(2, 2, 2) : List.copyOf(stages),
        widths == null ? List.of(16, 32, 64) : List.copyOf(widths));
  }

  /** The MLP and LeNet settings, the ResNet ones at their defaults. */
  public ModelConfig(Architecture architecture, List<Integer> hidden, List<Integer> convChannels, Integer dense, Double dropout,
      String activation, Boolean batchNorm) {
    this(architecture, hidden, convChannels, dense, dropout, activation, batchNorm, null, null);
  }

  public ModelConfig {
    ConfigException.require(!hidden.isEmpty() || architecture != Architecture.MLP, "model.hidden must list at least one width for an mlp");
    for (int w : hidden) {
      ConfigException.require(w > 0, "model.hidden widths must be positive, cannot be: %s", w);
    }
    ConfigException.require(convChannels.size() == 2, "model.convChannels must list 2 filter counts, cannot be: %s", convChannels);
    for (int c : convChannels) {
      ConfigException.require(c > 0, "model.convChannels must be positive, cannot be: %s", c);
    }
    ConfigException.require(dense > 0, "model.dense must be positive, cannot be: %s", dense);
    ConfigException.require(dropout >= 0 && dropout < 1, "model.dropout must be in [0, 1), cannot be: %s", dropout);
    ConfigException.require(!stages.isEmpty() && stages.size() == widths.size(),
        "model.stages and model.widths must list one value per stage, cannot be: stages %s, widths %s", stages, widths);
    for (int i = 0; i < stages.size(); i++) {
      ConfigException.require(stages.get(i) > 0, "model.stages must be positive block counts, cannot be: %s", stages);
      ConfigException.require(widths.get(i) > 0, "model.widths must be positive channel counts, cannot be: %s", widths);
    }
    Architectures.activation(activation);
  }

  public static ModelConfig defaults() {
    return new ModelConfig((Architecture) null, null, null, null, null, null, null, null, null);
  }
}

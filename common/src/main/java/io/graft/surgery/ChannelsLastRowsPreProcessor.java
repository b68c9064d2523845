package io.graft.surgery;

import java.util.Objects;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.preprocessor.BaseInputPreProcessor;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * Rows of a channel-last activation flattened in C order ({@code [N, H·W·C]}, as a frozen base's
 * cached outputs are stored) back as {@code [N, H, W, C]}: DL4J's {@code FeedForwardToCnnPreProcessor}
 * only makes channel-first images. Used where a cut falls on a channel-last layer (an imported
 * Keras model's).
 */
public class ChannelsLastRowsPreProcessor extends BaseInputPreProcessor {
  private final long height;
  private final long width;
  private final long channels;

  public ChannelsLastRowsPreProcessor(@JsonProperty("height") long height, @JsonProperty("width") long width,
      @JsonProperty("channels") long channels) {
    this.height = height;
    this.width = width;
    this.channels = channels;
  }

  public long getHeight() {
    return height;
  }

  public long getWidth() {
    return width;
  }

  public long getChannels() {
    return channels;
  }

  @Override
  public INDArray preProcess(INDArray input, int miniBatchSize, LayerWorkspaceMgr workspaceMgr) {
    INDArray rows = Shape.hasDefaultStridesForShape(input) ? input : input.dup('c');
    return workspaceMgr.leverageTo(ArrayType.ACTIVATIONS, rows.reshape('c', rows.size(0), height, width, channels));
  }

  @Override
  public INDArray backprop(INDArray output, int miniBatchSize, LayerWorkspaceMgr workspaceMgr) {
    INDArray g = Shape.hasDefaultStridesForShape(output) ? output : output.dup('c');
    return workspaceMgr.leverageTo(ArrayType.ACTIVATION_GRAD, g.reshape('c', g.size(0), height * width * channels));
  }

  @Override
  public ChannelsLastRowsPreProcessor clone() {
    return new ChannelsLastRowsPreProcessor(height, width, channels);
  }

  @Override
  public InputType getOutputType(InputType inputType) {
    return InputType.convolutional(height, width, channels, CNN2DFormat.NHWC);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ChannelsLastRowsPreProcessor p && p.height == height && p.width == width && p.channels == channels;
  }

  @Override
  public int hashCode() {
    return Objects.hash(height, width, channels);
  }
}

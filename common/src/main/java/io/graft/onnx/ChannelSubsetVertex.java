package io.graft.onnx;

import org.deeplearning4j.nn.conf.graph.SubsetVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.inputs.InvalidInputTypeException;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * Channels {@code from..to} (inclusive) of an image activation: one group's input to a grouped
 * convolution. The same layer as DL4J's {@link SubsetVertex}, whose output type for images counts
 * {@code from - to + 1} channels (negative): a graph built with input types then gives the next
 * convolution a negative input width. This vertex reports {@code to - from + 1}.
 */
public class ChannelSubsetVertex extends SubsetVertex {
  public ChannelSubsetVertex(@JsonProperty("from") int from, @JsonProperty("to") int to) {
    super(from, to);
  }

  @Override
  public ChannelSubsetVertex clone() {
    return new ChannelSubsetVertex(getFrom(), getTo());
  }

  @Override
  public InputType getOutputType(int layerIndex, InputType... inputs) throws InvalidInputTypeException {
    if (inputs.length == 1 && inputs[0] instanceof InputType.InputTypeConvolutional c) {
      if (getTo() >= c.getChannels()) {
        throw new InvalidInputTypeException("Channels " + getFrom() + ".." + getTo() + " of an input with " + c.getChannels() + " channels");
      }
      return InputType.convolutional(c.getHeight(), c.getWidth(), getTo() - getFrom() + 1, c.getFormat());
    }
    return super.getOutputType(layerIndex, inputs);
  }
}

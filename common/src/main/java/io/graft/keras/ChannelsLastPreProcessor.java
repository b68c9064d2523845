package io.graft.keras;

import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.inputs.InvalidInputTypeException;
import org.deeplearning4j.nn.conf.preprocessor.BaseInputPreProcessor;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Channel-first images ({@code [N, C, H, W]}, how Graft's datasets reach a network) as the
 * channel-last images ({@code [N, H, W, C]}) a Keras model's layers were built for. The backward
 * pass permutes the gradient back. No parameters; a saved model keeps it in its configuration.
 */
public class ChannelsLastPreProcessor extends BaseInputPreProcessor {
  @Override
  public INDArray preProcess(INDArray input, int miniBatchSize, LayerWorkspaceMgr workspaceMgr) {
    if (input.rank() != 4) {
      throw new IllegalStateException("Channel-first images [N, C, H, W] expected, got shape " + java.util.Arrays.toString(input.shape()));
    }
    return workspaceMgr.dup(ArrayType.ACTIVATIONS, input.permute(0, 2, 3, 1), 'c');
  }

  @Override
  public INDArray backprop(INDArray output, int miniBatchSize, LayerWorkspaceMgr workspaceMgr) {
    return workspaceMgr.dup(ArrayType.ACTIVATION_GRAD, output.permute(0, 3, 1, 2), 'c');
  }

  @Override
  public ChannelsLastPreProcessor clone() {
    return new ChannelsLastPreProcessor();
  }

  @Override
  public InputType getOutputType(InputType inputType) {
    if (!(inputType instanceof InputType.InputTypeConvolutional c) || c.getFormat() != CNN2DFormat.NCHW) {
      throw new InvalidInputTypeException("Channel-first image input expected, got " + inputType);
    }
    return InputType.convolutional(c.getHeight(), c.getWidth(), c.getChannels(), CNN2DFormat.NHWC);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ChannelsLastPreProcessor;
  }

  @Override
  public int hashCode() {
    return ChannelsLastPreProcessor.class.hashCode();
  }
}

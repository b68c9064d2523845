package io.graft.model;

import io.graft.config.ConfigException;
import io.graft.config.OptimizerConfig;
import io.graft.selfsup.NtXentLoss;
import io.graft.selfsup.Objective;
import java.util.Arrays;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * Builds the named architectures as DL4J configurations. Inputs are always flat feature vectors
 * (what the Parquet datasets hold); CNNs get a {@code convolutionalFlat} input type, so the same
 * minibatches feed every architecture.
 */
public final class Architectures {
  private Architectures() {}

  /**
   * The configuration for {@code model} on inputs of {@code featureShape} with {@code numClasses}
   * outputs.
   *
   * @throws ConfigException when the shape cannot feed the architecture
   */
  public static MultiLayerConfiguration build(
      ModelConfig model, int[] featureShape, int numClasses, OptimizerConfig optimizer, long seed) {
    ConfigException.require(numClasses >= 2, "A classifier needs at least 2 classes, the dataset has %s", numClasses);
    NeuralNetConfiguration.ListBuilder list = baseBuilder(optimizer, seed).list();
    int index = encoder(list, model, featureShape);
    list.layer(index, new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT)
        .name("output").nOut(numClasses).activation(Activation.SOFTMAX).build());
    return list.build();
  }

  /**
   * The encoder of {@code model} (every layer below the classifier) under a self-supervised head:
   * contrastive, {@code proj1} (dense + ReLU) and a linear {@code output} scored by
   * {@link NtXentLoss}; reconstruction, a dense {@code output} as wide as the input, sigmoid with
   * binary cross-entropy when {@code unitRange} (inputs in [0, 1]), linear with squared error
   * otherwise.
   */
  public static MultiLayerConfiguration selfSupervised(
      ModelConfig model, int[] featureShape, Objective objective, boolean unitRange, OptimizerConfig optimizer, long seed) {
    NeuralNetConfiguration.ListBuilder list = baseBuilder(optimizer, seed).list();
    int index = encoder(list, model, featureShape);
    switch (objective.kind()) {
      case CONTRASTIVE -> {
        list.layer(index++, new DenseLayer.Builder().name("proj1").nOut(objective.projection().get(0)).activation(Activation.RELU).build());
        list.layer(index, new OutputLayer.Builder(new NtXentLoss(objective.temperature()))
            .name("output").nOut(objective.projection().get(1)).activation(Activation.IDENTITY).build());
      }
      case RECONSTRUCTION -> {
        int numFeatures = Arrays.stream(featureShape).reduce(1, (a, b) -> a * b);
        list.layer(index, new OutputLayer.Builder(unitRange ? LossFunctions.LossFunction.XENT : LossFunctions.LossFunction.MSE)
            .name("output").nOut(numFeatures).activation(unitRange ? Activation.SIGMOID : Activation.IDENTITY).build());
      }
      default -> throw new IllegalArgumentException("Not a self-supervised objective: " + objective.kind());
    }
    return list.build();
  }

  /** Adds the layers below the classifier to {@code list}, sets its input type and returns the next layer index. */
  private static int encoder(NeuralNetConfiguration.ListBuilder list, ModelConfig model, int[] featureShape) {
    int numFeatures = Arrays.stream(featureShape).reduce(1, (a, b) -> a * b);
    Activation act = activation(model.activation());
    int index = 0;
    switch (model.architecture()) {
      case MLP -> {
        int in = numFeatures;
        for (int i = 0; i < model.hidden().size(); i++) {
          int width = model.hidden().get(i);
          DenseLayer.Builder dense = new DenseLayer.Builder().name("dense" + (i + 1)).nIn(in).nOut(width).activation(act);
          if (model.dropout() > 0) {
            dense.dropOut(1.0 - model.dropout());
          }
          list.layer(index++, dense.build());
          in = width;
        }
        list.setInputType(InputType.feedForward(numFeatures));
      }
      case LENET -> {
        int[] hwc = imageShape(featureShape);
        ConfigException.require(hwc[0] >= 12 && hwc[1] >= 12,
            "The lenet architecture needs images of at least 12x12, the dataset's feature shape is %s", Arrays.toString(featureShape));
        int k = hwc[0] >= 20 && hwc[1] >= 20 ? 5 : 3;
        list.layer(index++, new ConvolutionLayer.Builder(k, k).name("conv1").nOut(model.convChannels().get(0)).stride(1, 1).activation(act).build());
        if (model.batchNorm()) {
          list.layer(index++, new BatchNormalization.Builder().name("bn1").build());
        }
        list.layer(index++, new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).name("pool1").kernelSize(2, 2).stride(2, 2).build());
        list.layer(index++, new ConvolutionLayer.Builder(k, k).name("conv2").nOut(model.convChannels().get(1)).stride(1, 1).activation(act).build());
        if (model.batchNorm()) {
          list.layer(index++, new BatchNormalization.Builder().name("bn2").build());
        }
        list.layer(index++, new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).name("pool2").kernelSize(2, 2).stride(2, 2).build());
        DenseLayer.Builder dense = new DenseLayer.Builder().name("dense1").nOut(model.dense()).activation(act);
        if (model.dropout() > 0) {
          dense.dropOut(1.0 - model.dropout());
        }
        list.layer(index++, dense.build());
        list.setInputType(InputType.convolutionalFlat(hwc[0], hwc[1], hwc[2]));
      }
      default -> throw new ConfigException("Unknown architecture: " + model.architecture());
    }
    return index;
  }

  /** The settings every Graft network shares: seed, optimiser, Xavier initialisation, workspaces, regularisation. */
  public static NeuralNetConfiguration.Builder baseBuilder(OptimizerConfig optimizer, long seed) {
    NeuralNetConfiguration.Builder base = new NeuralNetConfiguration.Builder()
        .seed(seed)
        .updater(optimizer.toUpdater())
        .weightInit(WeightInit.XAVIER)
        .trainingWorkspaceMode(WorkspaceMode.ENABLED)
        .inferenceWorkspaceMode(WorkspaceMode.ENABLED);
    if (optimizer.weightDecay() > 0) {
      base.weightDecay(optimizer.weightDecay());
    }
    if (optimizer.l2() > 0) {
      base.l2(optimizer.l2());
    }
    return base;
  }

  /** Height, width, channels of an image-shaped dataset: [C, H, W] or [H, W]. */
  public static int[] imageShape(int[] featureShape) {
    if (featureShape.length == 3) {
      return new int[] {featureShape[1], featureShape[2], featureShape[0]};
    }
    if (featureShape.length == 2) {
      return new int[] {featureShape[0], featureShape[1], 1};
    }
    throw new ConfigException("The lenet architecture needs image-shaped features ([channels, height, width]), the dataset's feature shape is "
        + Arrays.toString(featureShape));
  }

  static Activation activation(String name) {
    for (Activation a : Activation.values()) {
      if (a.name().equalsIgnoreCase(name)) {
        return a;
      }
    }
    throw new ConfigException("Unknown activation '" + name + "' (use relu, leakyrelu, tanh, sigmoid, elu, gelu, ...)");
  }
}

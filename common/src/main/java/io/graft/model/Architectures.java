package io.graft.model;

import io.graft.config.ConfigException;
import io.graft.config.OptimizerConfig;
import io.graft.selfsup.NtXentLoss;
import io.graft.selfsup.Objective;
import java.util.Arrays;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
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
          list.layer(index++, batchNorm("bn1"));
        }
        list.layer(index++, new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).name("pool1").kernelSize(2, 2).stride(2, 2).build());
        list.layer(index++, new ConvolutionLayer.Builder(k, k).name("conv2").nOut(model.convChannels().get(1)).stride(1, 1).activation(act).build());
        if (model.batchNorm()) {
          list.layer(index++, batchNorm("bn2"));
        }
        list.layer(index++, new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).name("pool2").kernelSize(2, 2).stride(2, 2).build());
        DenseLayer.Builder dense = new DenseLayer.Builder().name("dense1").nOut(model.dense()).activation(act);
        if (model.dropout() > 0) {
          dense.dropOut(1.0 - model.dropout());
        }
        list.layer(index++, dense.build());
        list.setInputType(InputType.convolutionalFlat(hwc[0], hwc[1], hwc[2]));
      }
      case RESNET -> throw new ConfigException("model.architecture resnet is a ComputationGraph: graft pretrain, dann and multitask build "
          + "it; this job takes mlp or lenet");
      default -> throw new ConfigException("Unknown architecture: " + model.architecture());
    }
    return index;
  }

  /**
   * A residual CNN as a DL4J ComputationGraph, for image-shaped features: a 3x3 convolution stem
   * ({@code stem}, {@code stem.bn}, {@code stem.relu}), then stages of basic residual blocks (two 3x3
   * convolutions with batch norm, added to an identity shortcut, or to a 1x1 projection with batch
   * norm where the block changes width or halves the resolution; every stage after the first starts
   * with a stride-2 block), global average pooling ({@code pool}) and a softmax {@code output}. A
   * block's output vertex is named {@code stageS.blockB} (its layers {@code stageS.blockB.conv1},
   * {@code .bn1}, {@code .relu1}, {@code .conv2}, {@code .bn2}, {@code .proj}, {@code .proj.bn},
   * {@code .add}), so surgery and freezing can name a block or a stage.
   */
  public static ComputationGraphConfiguration resnet(ModelConfig model, int[] featureShape, int numClasses, OptimizerConfig optimizer,
      long seed) {
    ConfigException.require(numClasses >= 2, "A classifier needs at least 2 classes, the dataset has %s", numClasses);
    ComputationGraphConfiguration.GraphBuilder g = resnetTrunk(model, featureShape, optimizer, seed);
    OutputLayer.Builder out = new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(numClasses).activation(Activation.SOFTMAX);
    if (model.dropout() > 0) {
      out.dropOut(1.0 - model.dropout());
    }
    return g.addLayer("output", out.build(), "pool").setOutputs("output").build();
  }

  /**
   * The residual trunk ({@link #resnet}'s vertices up to {@code pool}) under a self-supervised head,
   * as {@link #selfSupervised} puts one on a layer stack: contrastive, {@code proj1} (dense + ReLU)
   * and {@code output} (linear, NT-Xent); reconstruction, a dense decoder {@code output} from the
   * pooled features to every input value.
   */
  public static ComputationGraphConfiguration resnetSelfSupervised(ModelConfig model, int[] featureShape, Objective objective, boolean unitRange,
      OptimizerConfig optimizer, long seed) {
    ComputationGraphConfiguration.GraphBuilder g = resnetTrunk(model, featureShape, optimizer, seed);
    switch (objective.kind()) {
      case CONTRASTIVE -> g.addLayer("proj1", new DenseLayer.Builder().nOut(objective.projection().get(0)).activation(Activation.RELU).build(), "pool")
          .addLayer("output", new OutputLayer.Builder(new NtXentLoss(objective.temperature())).nOut(objective.projection().get(1))
              .activation(Activation.IDENTITY).build(), "proj1");
      case RECONSTRUCTION -> g.addLayer("output", new OutputLayer.Builder(unitRange ? LossFunctions.LossFunction.XENT : LossFunctions.LossFunction.MSE)
          .nOut(Arrays.stream(featureShape).reduce(1, (a, b) -> a * b)).activation(unitRange ? Activation.SIGMOID : Activation.IDENTITY).build(),
          "pool");
      default -> throw new IllegalArgumentException("Not a self-supervised objective: " + objective.kind());
    }
    return g.setOutputs("output").build();
  }

  /** Stem, stages of basic residual blocks and global average pooling ({@code pool}), no head. */
  private static ComputationGraphConfiguration.GraphBuilder resnetTrunk(ModelConfig model, int[] featureShape, OptimizerConfig optimizer,
      long seed) {
    int[] hwc = imageShape(featureShape, "resnet");
    int halvings = model.stages().size() - 1;
    ConfigException.require(hwc[0] >> halvings >= 2 && hwc[1] >> halvings >= 2,
        "The resnet architecture with %s stages halves the resolution %s times; the dataset's %sx%s images are too small", model.stages().size(),
        halvings, hwc[0], hwc[1]);
    Activation act = activation(model.activation());
    ComputationGraphConfiguration.GraphBuilder g = baseBuilder(optimizer, seed).convolutionMode(ConvolutionMode.Same).graphBuilder()
        .addInputs("input").setInputTypes(InputType.convolutionalFlat(hwc[0], hwc[1], hwc[2]));
    int width = model.widths().get(0);
    g.addLayer("stem", conv(3, 1, width), "input").addLayer("stem.bn", batchNorm(null), "stem")
        .addLayer("stem.relu", new ActivationLayer.Builder().activation(act).build(), "stem.bn");
    String previous = "stem.relu";
    int channels = width;
    for (int s = 0; s < model.stages().size(); s++) {
      width = model.widths().get(s);
      for (int b = 0; b < model.stages().get(s); b++) {
        String block = "stage" + (s + 1) + ".block" + (b + 1);
        int stride = s > 0 && b == 0 ? 2 : 1;
        g.addLayer(block + ".conv1", conv(3, stride, width), previous)
            .addLayer(block + ".bn1", batchNorm(null), block + ".conv1")
            .addLayer(block + ".relu1", new ActivationLayer.Builder().activation(act).build(), block + ".bn1")
            .addLayer(block + ".conv2", conv(3, 1, width), block + ".relu1")
            .addLayer(block + ".bn2", batchNorm(null), block + ".conv2");
        String shortcut = previous;
        if (stride != 1 || channels != width) {
          g.addLayer(block + ".proj", conv(1, stride, width), previous)
              .addLayer(block + ".proj.bn", batchNorm(null), block + ".proj");
          shortcut = block + ".proj.bn";
        }
        g.addVertex(block + ".add", new ElementWiseVertex(ElementWiseVertex.Op.Add), block + ".bn2", shortcut)
            .addLayer(block, new ActivationLayer.Builder().activation(act).build(), block + ".add");
        previous = block;
        channels = width;
      }
    }
    return g.addLayer("pool", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), previous);
  }

  /**
   * Batch norm that only normalises. DL4J's batch-norm layer ignores its activation, but without
   * one the saved configuration (and {@code graft inspect}) would show the builder's default,
   * sigmoid, for a layer that applies none.
   */
  private static BatchNormalization batchNorm(String name) {
    BatchNormalization.Builder b = new BatchNormalization.Builder().activation(Activation.IDENTITY);
    if (name != null) {
      b.name(name);
    }
    return b.build();
  }

  /** A k x k convolution without bias (batch norm follows), ReLU-ready He initialisation. */
  private static ConvolutionLayer conv(int k, int stride, int channels) {
    return new ConvolutionLayer.Builder(k, k).stride(stride, stride).nOut(channels).hasBias(false).activation(Activation.IDENTITY)
        .weightInit(WeightInit.RELU).build();
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
    return imageShape(featureShape, "lenet");
  }

  private static int[] imageShape(int[] featureShape, String architecture) {
    if (featureShape.length == 3) {
      return new int[] {featureShape[1], featureShape[2], featureShape[0]};
    }
    if (featureShape.length == 2) {
      return new int[] {featureShape[0], featureShape[1], 1};
    }
    throw new ConfigException("The " + architecture + " architecture needs image-shaped features ([channels, height, width]), the dataset's feature shape is "
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

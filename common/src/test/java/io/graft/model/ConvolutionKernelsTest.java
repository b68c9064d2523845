package io.graft.model;

import static org.assertj.core.api.Assertions.assertThat;

import io.graft.testing.TestData;
import java.util.stream.Stream;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * A convolution with nothing trainable below it computes its weight and bias gradients as one
 * forward convolution and skips its input's gradient: the gradients are DL4J's own to float
 * rounding for every padding and both layouts, and where the rewrite does not apply (strides,
 * padding that differs at the top and the bottom) DL4J's backward pass runs instead. A channel-last
 * ReLU convolution gets the gradient DL4J's built-in layers give, where DL4J's oneDNN path does not.
 */
class ConvolutionKernelsTest {
  private static DataSet mnist;

  @BeforeAll
  static void mnistBatch() {
    OneDnn.configure("auto");
    mnist = TestData.mnistTestBatch(24);
  }

  @AfterAll
  static void restore() {
    OneDnn.configure("auto");
  }

  /** kernel, stride, padding, mode, channels, layout; whether the weight gradient runs as a forward convolution. */
  static Stream<Arguments> convolutions() {
    return Stream.of(
        Arguments.of(5, 1, 0, ConvolutionMode.Truncate, 1, CNN2DFormat.NCHW, true), // LeNet's first layer
        Arguments.of(3, 1, 0, ConvolutionMode.Same, 1, CNN2DFormat.NCHW, true), // the residual trunk's stem
        Arguments.of(5, 1, 2, ConvolutionMode.Truncate, 3, CNN2DFormat.NCHW, true),
        Arguments.of(4, 1, 0, ConvolutionMode.Same, 3, CNN2DFormat.NCHW, false), // padded at the bottom only
        Arguments.of(4, 2, 0, ConvolutionMode.Truncate, 3, CNN2DFormat.NCHW, false), // strided: DL4J's
        // channel-last (with an identity activation: DL4J 1.0.0-M2.1's oneDNN path differentiates a channel-last ReLU wrongly)
        Arguments.of(5, 1, 0, ConvolutionMode.Truncate, 3, CNN2DFormat.NHWC, true),
        Arguments.of(3, 1, 0, ConvolutionMode.Same, 1, CNN2DFormat.NHWC, true));
  }

  @ParameterizedTest(name = "kernel {0} stride {1} pad {2} {3}, {4} channels {5}")
  @MethodSource("convolutions")
  void aFirstConvolutionsGradientsAreDl4jsOwn(int kernel, int stride, int pad, ConvolutionMode mode, int channels,
      CNN2DFormat format, boolean rewritten) {
    MultiLayerNetwork reference = firstConvolution(kernel, stride, pad, mode, channels, format);
    MultiLayerNetwork graft = reference.clone();
    GraftKernels.Installed installed = GraftKernels.install(graft);
    assertThat(installed.weightGradientsOnly()).isEqualTo(1);
    INDArray x = images(channels, format);

    for (MultiLayerNetwork net : new MultiLayerNetwork[] {reference, graft}) {
      net.setInput(x);
      net.setLabels(mnist.getLabels());
      net.computeGradientAndScore();
    }
    for (String key : new String[] {"0_W", "0_b", "1_W"}) {
      INDArray expected = reference.gradient().getGradientFor(key);
      INDArray actual = graft.gradient().getGradientFor(key);
      assertThat(actual.sub(expected).norm2Number().doubleValue()).as(key)
          .isLessThanOrEqualTo(1e-5 * expected.norm2Number().doubleValue());
    }
    assertThat(ConvolutionKernels.weightGradientsOnly(graft.getLayer(0))).isEqualTo(rewritten ? 1 : 0);
  }

  @Test
  void aConvolutionAboveAFrozenOneSkipsItsInputGradientAndOneAboveATrainableOneDoesNot() {
    NeuralNetConfiguration.ListBuilder list = new NeuralNetConfiguration.Builder().seed(3).updater(new Adam(1e-3)).list()
        .layer(new FrozenLayer(new ConvolutionLayer.Builder(5, 5).nOut(6).activation(Activation.RELU).build()))
        .layer(new ConvolutionLayer.Builder(5, 5).nOut(8).activation(Activation.RELU).build())
        .layer(new ConvolutionLayer.Builder(3, 3).nOut(8).activation(Activation.RELU).build())
        .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(10).activation(Activation.SOFTMAX).build())
        .setInputType(InputType.convolutionalFlat(28, 28, 1));
    MultiLayerNetwork reference = new MultiLayerNetwork(list.build());
    reference.init();
    MultiLayerNetwork graft = reference.clone();
    assertThat(GraftKernels.install(graft)).isEqualTo(new GraftKernels.Installed(0, 2, 1, 0, 0));
    for (int i = 0; i < 3; i++) {
      reference.fit(mnist);
      graft.fit(mnist);
    }
    assertThat(ConvolutionKernels.weightGradientsOnly(graft.getLayer(1))).isEqualTo(3);
    assertThat(ConvolutionKernels.weightGradientsOnly(graft.getLayer(2))).isZero();
    assertThat(graft.params().equals(reference.params())).as("the same weights, to ND4J's 1e-5").isTrue();
  }

  @Test
  void aChannelLastReluConvolutionGetsTheGradientThatDl4jsOwnLayersGive() {
    // DL4J 1.0.0-M2.1 with oneDNN hands libnd4j's conv2d_bp a ReLU convolution's output gradient as a permuted
    // view, which it reads as contiguous channel-last memory: the gradients come out wrong. Graft's helper copies it.
    MultiLayerNetwork builtIn = channelsLastRelu(false);
    MultiLayerNetwork oneDnn = channelsLastRelu(true);
    MultiLayerNetwork graft = channelsLastRelu(true);
    oneDnn.setParams(builtIn.params());
    graft.setParams(builtIn.params());
    GraftKernels.Installed installed = GraftKernels.install(graft);
    assertThat(installed.convolutions()).isEqualTo(2);
    assertThat(installed.weightGradientsOnly()).isEqualTo(1);
    INDArray x = images(1, CNN2DFormat.NHWC);
    for (MultiLayerNetwork net : new MultiLayerNetwork[] {builtIn, oneDnn, graft}) {
      net.setInput(x);
      net.setLabels(mnist.getLabels());
      net.computeGradientAndScore();
    }
    INDArray expected = builtIn.gradient().gradient();
    double norm = expected.norm2Number().doubleValue();
    assertThat(oneDnn.gradient().gradient().sub(expected).norm2Number().doubleValue()).as("DL4J's oneDNN layers")
        .isGreaterThan(0.1 * norm);
    assertThat(graft.gradient().gradient().sub(expected).norm2Number().doubleValue()).as("Graft's").isLessThanOrEqualTo(1e-5 * norm);
    assertThat(ConvolutionKernels.weightGradientsOnly(graft.getLayer(0))).isEqualTo(1);
  }

  /** Channel-last: a 5x5 convolution, a 3x3 one with a ReLU activation, a classifier; oneDNN's layers on or DL4J's built-in ones. */
  private static MultiLayerNetwork channelsLastRelu(boolean oneDnn) {
    OneDnn.configure(oneDnn ? "auto" : "off");
    try {
      MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(5).list()
          .layer(new ConvolutionLayer.Builder(5, 5).dataFormat(CNN2DFormat.NHWC).nOut(6).activation(Activation.IDENTITY).build())
          .layer(new ConvolutionLayer.Builder(3, 3).dataFormat(CNN2DFormat.NHWC).nOut(8).activation(Activation.RELU).build())
          .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(10).activation(Activation.SOFTMAX).build())
          .setInputType(InputType.convolutional(28, 28, 1, CNN2DFormat.NHWC)).build());
      net.init();
      return net;
    } finally {
      OneDnn.configure("auto");
    }
  }

  private static MultiLayerNetwork firstConvolution(int kernel, int stride, int pad, ConvolutionMode mode, int channels,
      CNN2DFormat format) {
    MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(11).list()
        .layer(new ConvolutionLayer.Builder(kernel, kernel).stride(stride, stride).padding(pad, pad)
            .convolutionMode(mode).dataFormat(format).nOut(7)
            .activation(format == CNN2DFormat.NCHW ? Activation.RELU : Activation.IDENTITY).build())
        .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(10).activation(Activation.SOFTMAX).build())
        .setInputType(InputType.convolutional(28, 28, channels, format)).build());
    net.init();
    return net;
  }

  /** The batch's digits as 28x28 images; with 3 channels, each image's channels are it and the next two digits of the batch. */
  private static INDArray images(int channels, CNN2DFormat format) {
    INDArray digits = mnist.getFeatures().reshape('c', mnist.numExamples(), 1, 28, 28);
    INDArray nchw = digits;
    if (channels == 3) {
      INDArray[] planes = {digits, null, null};
      for (int c = 1; c < 3; c++) {
        planes[c] = Nd4j.concat(0, digits.get(NDArrayIndex.interval(c, digits.size(0))), digits.get(NDArrayIndex.interval(0, c)));
      }
      nchw = Nd4j.concat(1, planes);
    }
    return format == CNN2DFormat.NHWC ? nchw.permute(0, 2, 3, 1).dup('c') : nchw.dup('c');
  }
}

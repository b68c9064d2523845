package io.graft.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.layers.mkldnn.MKLDNNSubsamplingHelper;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Graft's max pooling gives what DL4J's oneDNN pooling gives, forward and backward, for LeNet's
 * 2x2 windows and for others (overlapping, rectangular, sizes a stride does not divide), on data
 * with ties (ReLU zeros, constant windows: the gradient goes to the first maximum in row-major
 * order); pooling it does not compute (average, padding, {@code Same} mode, channel-last) is left to
 * DL4J's helper.
 */
class PoolingKernelsTest {
  private static final LayerWorkspaceMgr NO_WORKSPACES = LayerWorkspaceMgr.noWorkspaces();

  @BeforeAll
  static void oneDnn() {
    OneDnn.configure("auto");
  }

  /** kernel, stride, mode, input height and width, data ("normal", "relu": half zeros, "constant": every window tied). */
  static Stream<Arguments> poolings() {
    return Stream.of(
        Arguments.of(new int[] {2, 2}, new int[] {2, 2}, ConvolutionMode.Truncate, 24, 24, "normal"), // LeNet's first pooling
        Arguments.of(new int[] {2, 2}, new int[] {2, 2}, ConvolutionMode.Truncate, 8, 8, "relu"), // LeNet's second, after ReLU
        Arguments.of(new int[] {2, 2}, new int[] {2, 2}, ConvolutionMode.Truncate, 8, 8, "constant"),
        Arguments.of(new int[] {2, 2}, new int[] {2, 2}, ConvolutionMode.Truncate, 7, 9, "relu"), // last row and column in no window
        Arguments.of(new int[] {2, 2}, new int[] {2, 2}, ConvolutionMode.Strict, 6, 6, "normal"),
        Arguments.of(new int[] {3, 3}, new int[] {2, 2}, ConvolutionMode.Truncate, 9, 9, "relu"), // overlapping windows
        Arguments.of(new int[] {3, 3}, new int[] {1, 1}, ConvolutionMode.Truncate, 6, 6, "constant"),
        Arguments.of(new int[] {2, 3}, new int[] {1, 2}, ConvolutionMode.Truncate, 5, 8, "normal"));
  }

  @ParameterizedTest(name = "kernel {0} stride {1} {2}, {3}x{4} {5}")
  @MethodSource("poolings")
  void maxPoolingIsDl4jsForwardAndBackward(int[] kernel, int[] stride, ConvolutionMode mode, int h, int w, String data) {
    INDArray x = data(new long[] {3, 4, h, w}, data);
    MKLDNNSubsamplingHelper dl4j = new MKLDNNSubsamplingHelper(DataType.FLOAT);
    PoolingKernels graft = new PoolingKernels();
    int[] pad = {0, 0};
    int[] dilation = {1, 1};

    INDArray expected = dl4j.activate(x, true, kernel, stride, pad, PoolingType.MAX, mode, dilation, CNN2DFormat.NCHW, NO_WORKSPACES);
    INDArray actual = graft.activate(x, true, kernel, stride, pad, PoolingType.MAX, mode, dilation, CNN2DFormat.NCHW, NO_WORKSPACES);
    assertThat(graft.forwardPasses).as("computed by Graft's kernel").isEqualTo(1);
    assertThat(actual.shape()).isEqualTo(expected.shape());
    assertThat(actual).isEqualTo(expected);

    INDArray epsilon = Nd4j.rand(DataType.FLOAT, expected.shape()).addi(0.5);
    INDArray dx = dl4j.backpropGradient(x, epsilon, kernel, stride, pad, PoolingType.MAX, mode, dilation, CNN2DFormat.NCHW, NO_WORKSPACES)
        .getSecond();
    INDArray graftDx = graft.backpropGradient(x, epsilon, kernel, stride, pad, PoolingType.MAX, mode, dilation, CNN2DFormat.NCHW,
        NO_WORKSPACES).getSecond();
    assertThat(graft.backwardPasses).isEqualTo(1);
    assertThat(graftDx).isEqualTo(dx);
    assertThat(graftDx.sumNumber().doubleValue()).as("every window passes its gradient on once")
        .isCloseTo(epsilon.sumNumber().doubleValue(), org.assertj.core.data.Offset.offset(1e-3));
  }

  @Test
  void aTiedWindowsGradientGoesToItsFirstPosition() {
    INDArray x = Nd4j.zeros(DataType.FLOAT, 1, 1, 2, 2);
    INDArray epsilon = Nd4j.ones(DataType.FLOAT, 1, 1, 1, 1);
    INDArray dx = new PoolingKernels().backpropGradient(x, epsilon, new int[] {2, 2}, new int[] {2, 2}, new int[] {0, 0},
        PoolingType.MAX, ConvolutionMode.Truncate, new int[] {1, 1}, CNN2DFormat.NCHW, NO_WORKSPACES).getSecond();
    assertThat(dx.reshape(4).toFloatVector()).containsExactly(1f, 0f, 0f, 0f);
  }

  @Test
  void aStridedViewIsPooledAsItsValues() {
    INDArray big = data(new long[] {2, 6, 8, 8}, "normal");
    INDArray view = big.get(NDArrayIndex.all(), NDArrayIndex.interval(1, 4), NDArrayIndex.all(), NDArrayIndex.all());
    PoolingKernels graft = new PoolingKernels();
    INDArray out = graft.activate(view, true, new int[] {2, 2}, new int[] {2, 2}, new int[] {0, 0}, PoolingType.MAX,
        ConvolutionMode.Truncate, new int[] {1, 1}, CNN2DFormat.NCHW, NO_WORKSPACES);
    INDArray expected = new MKLDNNSubsamplingHelper(DataType.FLOAT).activate(view.dup(), true, new int[] {2, 2}, new int[] {2, 2},
        new int[] {0, 0}, PoolingType.MAX, ConvolutionMode.Truncate, new int[] {1, 1}, CNN2DFormat.NCHW, NO_WORKSPACES);
    assertThat(out).isEqualTo(expected);
  }

  /** pooling type, padding, mode, layout the kernel leaves to DL4J's helper. */
  static Stream<Arguments> leftToDl4j() {
    return Stream.of(
        Arguments.of(PoolingType.AVG, 0, ConvolutionMode.Truncate, CNN2DFormat.NCHW),
        Arguments.of(PoolingType.MAX, 1, ConvolutionMode.Truncate, CNN2DFormat.NCHW),
        Arguments.of(PoolingType.MAX, 0, ConvolutionMode.Same, CNN2DFormat.NCHW),
        Arguments.of(PoolingType.MAX, 0, ConvolutionMode.Truncate, CNN2DFormat.NHWC));
  }

  @ParameterizedTest(name = "{0} pad {1} {2} {3}")
  @MethodSource("leftToDl4j")
  void otherPoolingIsDl4jsOwn(PoolingType type, int padding, ConvolutionMode mode, CNN2DFormat format) {
    INDArray x = data(new long[] {2, 3, 7, 7}, "normal");
    int[] kernel = {3, 3};
    int[] stride = {2, 2};
    int[] pad = {padding, padding};
    int[] dilation = {1, 1};
    PoolingKernels graft = new PoolingKernels();
    INDArray expected = new MKLDNNSubsamplingHelper(DataType.FLOAT).activate(x, true, kernel, stride, pad, type, mode, dilation, format,
        NO_WORKSPACES);
    INDArray actual = graft.activate(x, true, kernel, stride, pad, type, mode, dilation, format, NO_WORKSPACES);
    assertThat(graft.forwardPasses).as("DL4J's helper ran").isZero();
    assertThat(actual).isEqualTo(expected);
  }

  private static INDArray data(long[] shape, String kind) {
    Nd4j.getRandom().setSeed(11);
    INDArray x = Nd4j.randn(DataType.FLOAT, shape);
    return switch (kind) {
      case "relu" -> Transforms.relu(x, false);
      case "constant" -> Nd4j.valueArrayOf(shape, 0.25f);
      default -> x;
    };
  }
}

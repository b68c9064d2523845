package io.graft.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.graft.config.ConfigException;
import io.graft.config.OptimizerConfig;
import io.graft.testing.TestData;
import org.assertj.core.data.Offset;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.mkldnn.BaseMKLDNNHelper;
import org.deeplearning4j.nn.layers.mkldnn.MKLDNNBatchNormHelper;
import org.deeplearning4j.nn.layers.mkldnn.MKLDNNConvHelper;
import org.deeplearning4j.nn.layers.mkldnn.MKLDNNSubsamplingHelper;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

/**
 * DL4J's oneDNN layers, switched on by {@link OneDnn}, compute what DL4J's built-in layers compute
 * (on real MNIST digits), and the switch does what it says.
 */
class OneDnnTest {
  private static INDArray features;
  private static INDArray labels;

  @BeforeAll
  static void mnistBatch() {
    DataSet batch = TestData.mnistTestBatch(32);
    features = batch.getFeatures();
    labels = batch.getLabels();
  }

  @AfterAll
  static void restore() {
    OneDnn.configure("auto");
  }

  @Test
  void dl4jLooksForAClassThatNd4jRenamedAndGraftAnswersIt() throws Exception {
    // The bug: DL4J M2.1 asks for org.nd4j.nativeblas.Nd4jCpu$Environment#isUseMKLDNN; ND4J M2.1 has
    // neither that class (only Graft's answer, below) nor that method on the real one.
    Class<?> asked = Class.forName("org.nd4j.nativeblas.Nd4jCpu$Environment");
    assertThat(asked.getProtectionDomain().getCodeSource().getLocation().toString()).doesNotContain("nd4j");
    Class<?> real = Class.forName("org.nd4j.linalg.cpu.nativecpu.bindings.Nd4jCpu$Environment");
    assertThat(real.getMethods()).extracting("name").contains("isUseONEDNN").doesNotContain("isUseMKLDNN");

    assertThat(OneDnn.configure("auto").on()).isTrue();
    assertThat(System.getProperty(OneDnn.HELPERS_DISABLE)).isEqualTo("false");
    assertThat(BaseMKLDNNHelper.mklDnnEnabled()).isTrue();
  }

  @Test
  void lenetBuiltAfterAutoUsesOneDnnAndAfterOffItsOwnLayers() {
    OneDnn.configure("auto");
    MultiLayerNetwork on = lenet(false);
    assertThat(on.getLayer(0).getHelper()).isInstanceOf(MKLDNNConvHelper.class);
    assertThat(on.getLayer(1).getHelper()).isInstanceOf(MKLDNNSubsamplingHelper.class);

    assertThat(OneDnn.configure("off").on()).isFalse();
    MultiLayerNetwork off = lenet(false);
    assertThat(off.getLayer(0).getHelper()).isNull();
    assertThat(off.getLayer(1).getHelper()).isNull();
  }

  @Test
  void oneDnnLayersGiveTheBuiltInScoresGradientsAndOutputs() {
    for (boolean batchNorm : new boolean[] {false, true}) {
      OneDnn.configure("off");
      MultiLayerNetwork builtIn = lenet(batchNorm);
      OneDnn.configure("auto");
      MultiLayerNetwork oneDnn = lenet(batchNorm);
      if (batchNorm) {
        assertThat(oneDnn.getLayer(1).getHelper()).isInstanceOf(MKLDNNBatchNormHelper.class);
      }
      oneDnn.setParams(builtIn.params().dup());

      assertThat(oneDnn.output(features, false)).matches(o -> close(o, builtIn.output(features, false), 1e-4),
          "inference outputs (batch norm with running statistics) agree");
      builtIn.setInput(features);
      builtIn.setLabels(labels);
      builtIn.computeGradientAndScore();
      oneDnn.setInput(features);
      oneDnn.setLabels(labels);
      oneDnn.computeGradientAndScore();
      assertThat(oneDnn.score()).isCloseTo(builtIn.score(), Offset.offset(1e-4));
      Gradient g1 = builtIn.gradient();
      Gradient g2 = oneDnn.gradient();
      for (String key : g1.gradientForVariable().keySet()) {
        assertThat(close(g2.getGradientFor(key), g1.getGradientFor(key), 1e-3))
            .as("gradient %s (batch norm %s)", key, batchNorm).isTrue();
      }
    }
  }

  @Test
  void onRefusesNothingHereAndABadModeIsNamed() {
    assertThat(OneDnn.configure("on").on()).isTrue();
    assertThat(OneDnn.configure(" AUTO ").on()).isTrue();
    assertThatThrownBy(() -> OneDnn.configure("fast"))
        .isInstanceOf(ConfigException.class)
        .hasMessage("spark.graft.onednn must be auto, on or off, cannot be: fast");
  }

  private static MultiLayerNetwork lenet(boolean batchNorm) {
    ModelConfig model = new ModelConfig(ModelConfig.Architecture.LENET, null, null, null, null, null, batchNorm);
    MultiLayerNetwork net = new MultiLayerNetwork(Architectures.build(model, new int[] {1, 28, 28}, 10, OptimizerConfig.defaults(), 7));
    net.init();
    return net;
  }

  /** Relative to the larger array's largest magnitude: float kernels sum in different orders. */
  private static boolean close(INDArray a, INDArray b, double tolerance) {
    double scale = Math.max(a.amaxNumber().doubleValue(), b.amaxNumber().doubleValue());
    return a.sub(b).amaxNumber().doubleValue() <= tolerance * Math.max(scale, 1e-12);
  }
}

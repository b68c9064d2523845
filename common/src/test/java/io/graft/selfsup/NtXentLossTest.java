package io.graft.selfsup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.graft.config.OptimizerConfig;
import io.graft.model.Architectures;
import io.graft.model.ModelConfig;
import java.util.List;
import java.util.Random;
import org.deeplearning4j.gradientcheck.GradientCheckUtil;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationTanH;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;

class NtXentLossTest {
  private static INDArray rows(double[][] r) {
    return Nd4j.create(r).castTo(DataType.DOUBLE);
  }

  @Test
  void scoreEqualsTheHandComputedValueOnATinyBatch() {
    // two examples, views interleaved: rows 0,1 = example A, rows 2,3 = example B; unnormalised on purpose
    INDArray out = rows(new double[][] {{2, 0}, {0.5, 0}, {0.6, 0.8}, {0, 3}});
    double t = 0.5;
    // normalised: z0 = z1 = (1, 0), z2 = (0.6, 0.8), z3 = (0, 1); s_ij = z_i . z_j / t
    double l0 = -2 + Math.log(Math.exp(2) + Math.exp(1.2) + Math.exp(0)); // positive z1 (s = 2), negatives z2 (1.2), z3 (0)
    double l1 = l0;
    double l2 = -1.6 + Math.log(Math.exp(1.6) + 2 * Math.exp(1.2)); // positive z3 (1.6), negatives z0, z1 (1.2)
    double l3 = -1.6 + Math.log(Math.exp(1.6) + 2 * Math.exp(0)); // positive z2 (1.6), negatives z0, z1 (0)
    NtXentLoss loss = new NtXentLoss(t);
    double mean = loss.computeScore(null, out, new ActivationIdentity(), null, true);
    assertThat(mean).isCloseTo((l0 + l1 + l2 + l3) / 4, within(1e-9));
    assertThat(mean).isCloseTo(0.52759, within(1e-4));
    assertThat(loss.computeScore(null, out, new ActivationIdentity(), null, false)).isCloseTo(l0 + l1 + l2 + l3, within(1e-9));
    INDArray perRow = loss.computeScoreArray(null, out, new ActivationIdentity(), null);
    assertThat(perRow.toDoubleVector()).containsExactly(new double[] {l0, l1, l2, l3}, within(1e-9));
  }

  @Test
  void gradientMatchesCentralDifferences() {
    Random rng = new Random(7);
    for (var activation : List.of(new ActivationIdentity(), new ActivationTanH())) {
      double[][] r = new double[6][3];
      for (double[] row : r) {
        for (int j = 0; j < row.length; j++) {
          row[j] = rng.nextGaussian();
        }
      }
      INDArray pre = rows(r);
      NtXentLoss loss = new NtXentLoss(0.3);
      INDArray analytic = loss.computeGradient(null, pre, activation, null);
      var both = loss.computeGradientAndScore(null, pre, activation, null, false);
      assertThat(both.getSecond().toDoubleMatrix()).isDeepEqualTo(analytic.toDoubleMatrix());
      double eps = 1e-6;
      for (int i = 0; i < 6; i++) {
        for (int j = 0; j < 3; j++) {
          INDArray plus = pre.dup();
          plus.putScalar(i, j, pre.getDouble(i, j) + eps);
          INDArray minus = pre.dup();
          minus.putScalar(i, j, pre.getDouble(i, j) - eps);
          double numeric = (loss.computeScore(null, plus, activation, null, false) - loss.computeScore(null, minus, activation, null, false))
              / (2 * eps);
          assertThat(analytic.getDouble(i, j)).as("d loss / d pre[%d][%d] with %s", i, j, activation).isCloseTo(numeric, within(1e-6));
        }
      }
    }
  }

  @Test
  void passesDl4jsGradientCheckInsideANetwork() {
    Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
    try {
      MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(3).dataType(DataType.DOUBLE).updater(new NoOp())
          .weightInit(WeightInit.XAVIER).list()
          .layer(new DenseLayer.Builder().nIn(5).nOut(4).activation(Activation.TANH).build())
          .layer(new OutputLayer.Builder(new NtXentLoss(0.5)).nIn(4).nOut(3).activation(Activation.IDENTITY).build())
          .build();
      MultiLayerNetwork net = new MultiLayerNetwork(conf);
      net.init();
      INDArray x = Nd4j.rand(DataType.DOUBLE, 8, 5);
      INDArray ignoredLabels = Nd4j.zeros(DataType.DOUBLE, 8, 3);
      boolean ok = GradientCheckUtil.checkGradients(new GradientCheckUtil.MLNConfig().net(net).input(x).labels(ignoredLabels)
          .epsilon(1e-6).maxRelError(1e-3).minAbsoluteError(1e-8));
      assertThat(ok).isTrue();
    } finally {
      Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
    }
  }

  @Test
  void theOtherViewIsTheOnlyPositiveAndEveryOtherRowANegative() {
    // three examples, each pair of views nearly identical, the examples orthogonal
    double[][] base = {{1, 0, 0}, {0.9, 0.1, 0}, {0, 1, 0}, {0.1, 0.9, 0}, {0, 0, 1}, {0, 0.1, 0.9}};
    NtXentLoss loss = new NtXentLoss(0.5);
    double l0 = loss.computeScoreArray(null, rows(base), new ActivationIdentity(), null).getDouble(0);
    for (int k = 1; k < base.length; k++) {
      double[][] moved = copy(base);
      moved[k] = base[0].clone(); // row k now points exactly where row 0 does
      double after = loss.computeScoreArray(null, rows(moved), new ActivationIdentity(), null).getDouble(0);
      if (k == NtXentLoss.positiveOf(0)) {
        assertThat(after).as("row 0's loss when its other view (row %d) moves onto it", k).isLessThan(l0);
      } else {
        assertThat(after).as("row 0's loss when row %d (another example) moves onto it", k).isGreaterThan(l0);
      }
    }
    // pairs matched as interleaved score far better than the same rows with two examples' views swapped
    double matched = loss.computeScore(null, rows(base), new ActivationIdentity(), null, true);
    double[][] swapped = copy(base);
    swapped[1] = base[2];
    swapped[2] = base[1];
    assertThat(loss.computeScore(null, rows(swapped), new ActivationIdentity(), null, true)).isGreaterThan(matched + 1);
    assertThat(NtXentLoss.positiveOf(4)).isEqualTo(5);
    assertThat(NtXentLoss.positiveOf(5)).isEqualTo(4);
  }

  @Test
  void refusesOddBatchesMasksAndBadTemperatures() {
    NtXentLoss loss = new NtXentLoss(0.5);
    assertThatThrownBy(() -> loss.computeScore(null, Nd4j.rand(3, 2), new ActivationIdentity(), null, true))
        .hasMessage("NT-Xent needs an even minibatch of interleaved view pairs, got 3 rows");
    assertThatThrownBy(() -> loss.computeScore(null, Nd4j.rand(4, 2), new ActivationIdentity(), Nd4j.ones(4, 1), true))
        .hasMessageContaining("does not support masks");
    assertThatThrownBy(() -> new NtXentLoss(0)).hasMessage("NT-Xent temperature must be positive, cannot be: 0.0");
  }

  @Test
  void survivesJsonRoundTripInAContrastiveLenet() {
    Objective contrastive = new Objective(Objective.Kind.CONTRASTIVE, 0.2, List.of(64, 16), null, null, null);
    MultiLayerConfiguration conf = Architectures.selfSupervised(ModelConfig.defaults(), new int[] {1, 28, 28}, contrastive, true,
        OptimizerConfig.defaults(), 1);
    MultiLayerConfiguration back = MultiLayerConfiguration.fromJson(conf.toJson());
    var output = (OutputLayer) back.getConf(back.getConfs().size() - 1).getLayer();
    assertThat(output.getLossFn()).isEqualTo(new NtXentLoss(0.2));
    assertThat(output.getNOut()).isEqualTo(16);
    assertThat(back.getConf(back.getConfs().size() - 2).getLayer().getLayerName()).isEqualTo("proj1");
    assertThat(back.getConf(back.getConfs().size() - 3).getLayer().getLayerName()).isEqualTo("dense1");
  }

  private static double[][] copy(double[][] a) {
    double[][] c = new double[a.length][];
    for (int i = 0; i < a.length; i++) {
      c[i] = a[i].clone();
    }
    return c;
  }
}

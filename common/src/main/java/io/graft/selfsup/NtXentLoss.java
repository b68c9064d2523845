package io.graft.selfsup;

import java.util.Arrays;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.lossfunctions.ILossFunction;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * SimCLR's normalised temperature-scaled cross-entropy (NT-Xent) as a DL4J loss function, for
 * the output layer of a projection head.
 *
 * <p>A minibatch of {@code 2N} rows holds two views of each of N examples, <b>interleaved</b>:
 * rows {@code 2k} and {@code 2k+1} are the views of example k. With {@code z_i} the L2-normalised
 * outputs and {@code s_ij = z_i . z_j / temperature}, row i's loss is
 * <pre>  l_i = -log( exp(s_i,p(i)) / sum_{k != i} exp(s_ik) ),   p(i) = i XOR 1</pre>
 * so the other view of the same example is row i's only positive and every other row of the
 * minibatch (2N - 2 of them) a negative. The score is the mean of {@code l_i}; the gradient, like
 * every DL4J loss, is that of the sum (the updater divides by the minibatch size).
 *
 * <p>Negatives come from the minibatch, so under parameter averaging each worker contrasts its
 * own minibatch only: the effective number of negatives is {@code batchSizePerWorker - 2}, not
 * the global batch. Labels are ignored (any array of the output's shape will do).
 */
public class NtXentLoss implements ILossFunction {
  private static final double EPS = 1e-8;
  /** What the diagonal (a row against itself) is set to before the softmax: exp of it is 0. */
  private static final double EXCLUDED = -1e4;

  @JsonProperty("temperature")
  private final double temperature;

  public NtXentLoss(@JsonProperty("temperature") double temperature) {
    if (!(temperature > 0)) {
      throw new IllegalArgumentException("NT-Xent temperature must be positive, cannot be: " + temperature);
    }
    this.temperature = temperature;
  }

  public double getTemperature() {
    return temperature;
  }

  /** The row paired with {@code row}: the other view of the same example. */
  public static int positiveOf(int row) {
    return row ^ 1;
  }

  /** Per-row loss, softmax over the non-self similarities, normalised outputs and norms of one minibatch. */
  record Forward(INDArray rowLoss, INDArray softmax, INDArray z, INDArray norms, INDArray activations) {}

  Forward forward(INDArray preOutput, IActivation activationFn) {
    if (preOutput.rank() != 2) {
      throw new IllegalArgumentException("NT-Xent needs a 2-d output [rows, dims], got shape " + Arrays.toString(preOutput.shape()));
    }
    long m = preOutput.size(0);
    if (m < 2 || m % 2 != 0) {
      throw new IllegalArgumentException("NT-Xent needs an even minibatch of interleaved view pairs, got " + m + " rows");
    }
    INDArray a = activationFn.getActivation(preOutput.dup(), true);
    INDArray norms = Transforms.max(a.norm2(1), EPS).reshape(m, 1);
    INDArray z = a.divColumnVector(norms);
    INDArray s = z.mmul(z.transpose()).divi(temperature);
    for (int i = 0; i < m; i++) {
      s.putScalar(i, i, EXCLUDED);
    }
    INDArray rowMax = s.max(1).reshape(m, 1);
    INDArray e = Transforms.exp(s.subColumnVector(rowMax), false);
    INDArray denom = e.sum(1).reshape(m, 1);
    INDArray softmax = e.divColumnVector(denom);
    INDArray loss = Transforms.log(denom, false).addi(rowMax);
    for (int i = 0; i < m; i++) {
      loss.putScalar(i, 0, loss.getDouble(i, 0) - s.getDouble(i, positiveOf(i)));
    }
    return new Forward(loss.reshape(m), softmax, z, norms, a);
  }

  @Override
  public double computeScore(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask, boolean average) {
    requireNoMask(mask);
    INDArray rows = forward(preOutput, activationFn).rowLoss();
    double sum = rows.sumNumber().doubleValue();
    return average ? sum / rows.length() : sum;
  }

  @Override
  public INDArray computeScoreArray(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask) {
    requireNoMask(mask);
    return forward(preOutput, activationFn).rowLoss().reshape(preOutput.size(0), 1);
  }

  @Override
  public INDArray computeGradient(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask) {
    requireNoMask(mask);
    return gradient(preOutput, activationFn, forward(preOutput, activationFn));
  }

  @Override
  public Pair<Double, INDArray> computeGradientAndScore(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask,
      boolean average) {
    requireNoMask(mask);
    Forward f = forward(preOutput, activationFn);
    double sum = f.rowLoss().sumNumber().doubleValue();
    return new Pair<>(average ? sum / f.rowLoss().length() : sum, gradient(preOutput, activationFn, f));
  }

  /**
   * The gradient of the summed loss. With G = softmax minus the one-hot of each row's positive
   * (dl/ds), ds/dz gives dL/dz = (G + G^T) z / temperature; the normalisation z = a / |a| then
   * projects out the component along z and divides by |a|; the activation's backprop does the rest.
   */
  private INDArray gradient(INDArray preOutput, IActivation activationFn, Forward f) {
    long m = preOutput.size(0);
    INDArray g = f.softmax().dup();
    for (int i = 0; i < m; i++) {
      int p = positiveOf(i);
      g.putScalar(i, p, g.getDouble(i, p) - 1.0);
    }
    INDArray dz = g.add(g.transpose()).mmul(f.z()).divi(temperature);
    INDArray along = dz.mul(f.z()).sum(1).reshape(m, 1);
    INDArray da = dz.sub(f.z().mulColumnVector(along)).divColumnVector(f.norms());
    return activationFn.backprop(preOutput.dup(), da).getFirst();
  }

  private static void requireNoMask(INDArray mask) {
    if (mask != null) {
      throw new IllegalArgumentException("NT-Xent does not support masks: every row of a view-pair minibatch counts");
    }
  }

  @Override
  public String name() {
    return "NtXentLoss(temperature=" + temperature + ")";
  }

  @Override
  public String toString() {
    return name();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof NtXentLoss other && other.temperature == temperature;
  }

  @Override
  public int hashCode() {
    return Double.hashCode(temperature);
  }
}

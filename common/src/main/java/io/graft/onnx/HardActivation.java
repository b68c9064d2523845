package io.graft.onnx;

import java.util.Objects;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.BaseActivationFunction;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The piecewise-linear activations ONNX has and DL4J lacks in the form ONNX defines them:
 * {@code Clip(min, max)}, {@code HardSigmoid} = max(0, min(1, alpha·x + beta)) (DL4J's hard sigmoid
 * fixes alpha at 0.2; PyTorch exports 1/6) and {@code HardSwish} = x · HardSigmoid(x) with alpha
 * 1/6, beta 1/2.
 */
public class HardActivation extends BaseActivationFunction {
  /** Which function. */
  public enum Kind { CLIP, HARD_SIGMOID, HARD_SWISH }

  private Kind kind;
  private double a;
  private double b;

  /** For JSON. */
  public HardActivation() {}

  private HardActivation(Kind kind, double a, double b) {
    this.kind = kind;
    this.a = a;
    this.b = b;
  }

  public static HardActivation clip(double min, double max) {
    return new HardActivation(Kind.CLIP, min, max);
  }

  public static HardActivation hardSigmoid(double alpha, double beta) {
    return new HardActivation(Kind.HARD_SIGMOID, alpha, beta);
  }

  public static HardActivation hardSwish() {
    return new HardActivation(Kind.HARD_SWISH, 1.0 / 6, 0.5);
  }

  public Kind getKind() {
    return kind;
  }

  public void setKind(Kind kind) {
    this.kind = kind;
  }

  public double getA() {
    return a;
  }

  public void setA(double a) {
    this.a = a;
  }

  public double getB() {
    return b;
  }

  public void setB(double b) {
    this.b = b;
  }

  @Override
  public INDArray getActivation(INDArray in, boolean training) {
    switch (kind) {
      case CLIP -> {
        return clamp(in, a, b);
      }
      case HARD_SIGMOID -> {
        return clamp(in.muli(a).addi(b), 0, 1);
      }
      default -> {
        INDArray gate = clamp(in.mul(a).addi(b), 0, 1);
        return in.muli(gate);
      }
    }
  }

  private static INDArray clamp(INDArray x, double lo, double hi) {
    Transforms.max(x, lo, false);
    return Transforms.min(x, hi, false);
  }

  /** 1 where {@code lo < x < hi}, else 0, in x's data type. */
  private static INDArray inside(INDArray x, double lo, double hi) {
    return x.gt(lo).castTo(x.dataType()).muli(x.lt(hi).castTo(x.dataType()));
  }

  @Override
  public Pair<INDArray, INDArray> backprop(INDArray in, INDArray epsilon) {
    assertShape(in, epsilon);
    INDArray dz;
    switch (kind) {
      case CLIP -> dz = inside(in, a, b);
      case HARD_SIGMOID -> dz = inside(in.mul(a).addi(b), 0, 1).muli(a);
      default -> {
        // d/dx x·clip(a·x + b, 0, 1) = clip(a·x + b, 0, 1) + a·x inside the linear part
        INDArray lin = in.mul(a).addi(b);
        INDArray inner = inside(lin, 0, 1);
        dz = clamp(lin.dup(), 0, 1).addi(inner.muli(in).muli(a));
      }
    }
    return new Pair<>(dz.muli(epsilon), null);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof HardActivation h && kind == h.kind && a == h.a && b == h.b;
  }

  @Override
  public int hashCode() {
    return Objects.hash(kind, a, b);
  }

  @Override
  public String toString() {
    return switch (kind) {
      case CLIP -> "clip(" + a + ", " + b + ")";
      case HARD_SIGMOID -> "hardsigmoid(" + a + ", " + b + ")";
      case HARD_SWISH -> "hardswish";
    };
  }
}

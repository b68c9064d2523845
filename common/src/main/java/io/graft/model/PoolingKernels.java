package io.graft.model;

import java.lang.reflect.Field;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Arrays;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.convolution.subsampling.SubsamplingLayer;
import org.deeplearning4j.nn.layers.mkldnn.MKLDNNSubsamplingHelper;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;

/**
 * Max pooling of channel-first activations in Java, in place of DL4J's oneDNN pooling: the layer's
 * helper for the backward pass, and through {@link PoolingLayer} for the forward pass.
 *
 * <p>oneDNN 2.3 (what ND4J 1.0.0-M2.1 bundles) has JIT pooling kernels for channel-first (NCHW) data
 * only on AVX-512 CPUs; on an AVX2 CPU it runs its reference kernel ({@code simple_nchw}), one element
 * at a time. LeNet's two 2x2 max-pooling layers then took 74 ms of a 217 ms training step at minibatch
 * 256 on one core (oneDNN limited to AVX2), against 9 ms with the AVX-512 kernels. (libnd4j's oneDNN
 * backward pass also runs the forward pass again, for the positions of the maxima.)
 *
 * <p>This helper computes max pooling without padding or dilation (DL4J's {@code Truncate} and
 * {@code Strict} modes, any kernel and stride) directly on the arrays: the forward pass takes the
 * maximum of each window, the backward pass recomputes each window's maximum and adds the output
 * gradient at its first position in row-major order, where oneDNN's and DL4J's built-in pooling put it
 * (ties are common: a window of ReLU zeros). Everything else (average pooling, padding, {@code Same}
 * mode, channel-last data, other types) stays with DL4J's helper.
 */
final class PoolingKernels extends MKLDNNSubsamplingHelper {
  private static final Field HELPER = GraftKernels.field(SubsamplingLayer.class, "helper");
  long forwardPasses;
  long backwardPasses;

  PoolingKernels() {
    super(DataType.FLOAT);
  }

  /**
   * Puts the helper on {@code layer} if it is a subsampling layer ({@link PoolingLayer}, or DL4J's own) on
   * DL4J's oneDNN helper; true if it runs there now.
   */
  static boolean installOn(Layer layer) {
    if (layer.getClass() != SubsamplingLayer.class && layer.getClass() != PoolingLayer.class) {
      return false;
    }
    Object helper = GraftKernels.get(HELPER, layer);
    if (helper != null && helper.getClass() == MKLDNNSubsamplingHelper.class) {
      helper = new PoolingKernels();
      GraftKernels.set(HELPER, layer, helper);
    }
    return helper instanceof PoolingKernels;
  }

  /** How many forward and backward passes of {@code layer} ran here ({0, 0} without this helper). */
  static long[] passes(Layer layer) {
    return layer instanceof SubsamplingLayer && GraftKernels.get(HELPER, layer) instanceof PoolingKernels k
        ? new long[] {k.forwardPasses, k.backwardPasses} : new long[2];
  }

  /** The pooling this helper computes: max, channel-first float, no padding, no dilation, not {@code Same} mode. */
  static boolean handles(INDArray input, int[] pad, PoolingType type, ConvolutionMode mode, int[] dilation, CNN2DFormat format) {
    return type == PoolingType.MAX && format == CNN2DFormat.NCHW && mode != ConvolutionMode.Same && input.rank() == 4
        && input.dataType() == DataType.FLOAT && pad[0] == 0 && pad[1] == 0 && dilation[0] == 1 && dilation[1] == 1
        && input.length() <= Integer.MAX_VALUE;
  }

  @Override
  public INDArray activate(INDArray input, boolean training, int[] kernel, int[] strides, int[] pad, PoolingType type,
      ConvolutionMode mode, int[] dilation, CNN2DFormat format, LayerWorkspaceMgr workspaceMgr) {
    long t0 = KernelClock.start();
    try {
      if (!handles(input, pad, type, mode, dilation, format)) {
        return super.activate(input, training, kernel, strides, pad, type, mode, dilation, format, workspaceMgr);
      }
      Geometry g = new Geometry(input, kernel, strides);
      if (g.outH < 1 || g.outW < 1 || mode == ConvolutionMode.Strict && !g.exact()) {
        // DL4J's helper reports the size error in its own words
        return super.activate(input, training, kernel, strides, pad, type, mode, dilation, format, workspaceMgr);
      }
      INDArray x = contiguous(input, workspaceMgr);
      INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, DataType.FLOAT,
          new long[] {input.size(0), input.size(1), g.outH, g.outW}, 'c');
      maxForward(x, out, g);
      forwardPasses++;
      return out;
    } finally {
      KernelClock.stop(KernelClock.Kind.POOLING, t0);
    }
  }

  @Override
  public Pair<Gradient, INDArray> backpropGradient(INDArray input, INDArray epsilon, int[] kernel, int[] strides, int[] pad,
      PoolingType type, ConvolutionMode mode, int[] dilation, CNN2DFormat format, LayerWorkspaceMgr workspaceMgr) {
    long t0 = KernelClock.start();
    try {
      if (!handles(input, pad, type, mode, dilation, format) || epsilon.dataType() != DataType.FLOAT) {
        return super.backpropGradient(input, epsilon, kernel, strides, pad, type, mode, dilation, format, workspaceMgr);
      }
      Geometry g = new Geometry(input, kernel, strides);
      if (epsilon.rank() != 4 || epsilon.size(0) != input.size(0) || epsilon.size(1) != input.size(1) || epsilon.size(2) != g.outH
          || epsilon.size(3) != g.outW) {
        return super.backpropGradient(input, epsilon, kernel, strides, pad, type, mode, dilation, format, workspaceMgr);
      }
      INDArray x = contiguous(input, workspaceMgr);
      INDArray dy = contiguous(epsilon, workspaceMgr);
      INDArray dx = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, DataType.FLOAT, input.shape(), 'c');
      maxBackward(x, dy, dx, g);
      backwardPasses++;
      return new Pair<>(new DefaultGradient(), dx);
    } finally {
      KernelClock.stop(KernelClock.Kind.POOLING, t0);
    }
  }

  private static INDArray contiguous(INDArray a, LayerWorkspaceMgr workspaceMgr) {
    return Shape.hasDefaultStridesForShape(a) ? a : workspaceMgr.dup(ArrayType.BP_WORKING_MEM, a, 'c');
  }

  /** The sizes of one pooling: planes (examples x channels), input and output height and width, kernel, stride. */
  static final class Geometry {
    final int planes;
    final int h;
    final int w;
    final int kh;
    final int kw;
    final int sh;
    final int sw;
    final int outH;
    final int outW;

    Geometry(INDArray input, int[] kernel, int[] strides) {
      planes = (int) (input.size(0) * input.size(1));
      h = (int) input.size(2);
      w = (int) input.size(3);
      kh = kernel[0];
      kw = kernel[1];
      sh = strides[0];
      sw = strides[1];
      outH = (h - kh) / sh + 1;
      outW = (w - kw) / sw + 1;
    }

    /** The windows tile the input exactly (what {@code Strict} mode requires). */
    boolean exact() {
      return (h - kh) % sh == 0 && (w - kw) % sw == 0;
    }

    /** LeNet's pooling, which has loops of its own. */
    boolean twoByTwo() {
      return kh == 2 && kw == 2 && sh == 2 && sw == 2;
    }
  }

  /**
   * The maximum of every window, plane by plane: each plane (one channel of one example) is copied
   * into a Java array, pooled there, and its output copied back, so the inner loops run on arrays
   * the JIT compiles without buffer checks.
   */
  static void maxForward(INDArray x, INDArray out, Geometry g) {
    FloatBuffer in = floats(x);
    FloatBuffer to = floats(out);
    float[] src = new float[g.h * g.w];
    float[] dst = new float[g.outH * g.outW];
    for (int p = 0; p < g.planes; p++) {
      in.get((int) x.offset() + p * src.length, src);
      if (g.twoByTwo()) {
        pool2x2(src, dst, g);
      } else {
        pool(src, dst, g);
      }
      to.put((int) out.offset() + p * dst.length, dst);
    }
  }

  private static void pool2x2(float[] src, float[] dst, Geometry g) {
    for (int oy = 0; oy < g.outH; oy++) {
      int top = 2 * oy * g.w;
      int bottom = top + g.w;
      int o = oy * g.outW;
      for (int ox = 0; ox < g.outW; ox++) {
        int c = 2 * ox;
        // Math.max compiles to branch-free vector-unit instructions; a compare-and-pick mispredicts on half the windows
        dst[o + ox] = Math.max(Math.max(src[top + c], src[top + c + 1]), Math.max(src[bottom + c], src[bottom + c + 1]));
      }
    }
  }

  private static void pool(float[] src, float[] dst, Geometry g) {
    for (int oy = 0; oy < g.outH; oy++) {
      for (int ox = 0; ox < g.outW; ox++) {
        int corner = oy * g.sh * g.w + ox * g.sw;
        float m = src[corner];
        for (int ky = 0; ky < g.kh; ky++) {
          int row = corner + ky * g.w;
          for (int kx = 0; kx < g.kw; kx++) {
            m = Math.max(m, src[row + kx]);
          }
        }
        dst[oy * g.outW + ox] = m;
      }
    }
  }

  /**
   * Each output gradient added at its window's first maximum in row-major order, plane by plane
   * (positions no window's maximum falls on, and rows or columns a truncating stride leaves out, get
   * zero).
   */
  static void maxBackward(INDArray x, INDArray dy, INDArray dx, Geometry g) {
    FloatBuffer in = floats(x);
    FloatBuffer grad = floats(dy);
    FloatBuffer to = floats(dx);
    float[] src = new float[g.h * g.w];
    float[] gradient = new float[g.outH * g.outW];
    float[] dst = new float[src.length];
    for (int p = 0; p < g.planes; p++) {
      in.get((int) x.offset() + p * src.length, src);
      grad.get((int) dy.offset() + p * gradient.length, gradient);
      if (g.twoByTwo()) {
        unpool2x2(src, gradient, dst, g);
      } else {
        unpool(src, gradient, dst, g);
      }
      to.put((int) dx.offset() + p * src.length, dst);
    }
  }

  private static void unpool2x2(float[] src, float[] gradient, float[] dst, Geometry g) {
    // every position of a window is written; an odd last row or column is in none, and stays at dst's initial zero
    for (int oy = 0; oy < g.outH; oy++) {
      int top = 2 * oy * g.w;
      int bottom = top + g.w;
      for (int ox = 0; ox < g.outW; ox++) {
        int c = 2 * ox;
        float a = src[top + c];
        float b = src[top + c + 1];
        float d = src[bottom + c];
        float e = src[bottom + c + 1];
        int m = Float.floatToRawIntBits(Math.max(Math.max(a, b), Math.max(d, e)));
        int v = Float.floatToRawIntBits(gradient[oy * g.outW + ox]);
        // the first position holding the maximum takes the gradient, branch-free (which of the four it is varies
        // from window to window, so a branch would mispredict): equal bits, 1 or 0, then a mask of all ones or none
        int first = equal(Float.floatToRawIntBits(a), m);
        int second = equal(Float.floatToRawIntBits(b), m) & ~first;
        int third = equal(Float.floatToRawIntBits(d), m) & ~first & ~second;
        int fourth = ~first & ~second & ~third & 1;
        dst[top + c] = Float.intBitsToFloat(v & -first);
        dst[top + c + 1] = Float.intBitsToFloat(v & -second);
        dst[bottom + c] = Float.intBitsToFloat(v & -third);
        dst[bottom + c + 1] = Float.intBitsToFloat(v & -fourth);
      }
    }
  }

  /** 1 where {@code x == y}, else 0, without a branch. */
  private static int equal(int x, int y) {
    int d = x ^ y;
    return ((d | -d) >>> 31) ^ 1;
  }

  private static void unpool(float[] src, float[] gradient, float[] dst, Geometry g) {
    Arrays.fill(dst, 0f);
    for (int oy = 0; oy < g.outH; oy++) {
      for (int ox = 0; ox < g.outW; ox++) {
        int corner = oy * g.sh * g.w + ox * g.sw;
        int best = corner;
        float m = src[corner];
        for (int ky = 0; ky < g.kh; ky++) {
          int row = corner + ky * g.w;
          for (int kx = 0; kx < g.kw; kx++) {
            if (src[row + kx] > m) {
              m = src[row + kx];
              best = row + kx;
            }
          }
        }
        dst[best] += gradient[oy * g.outW + ox];
      }
    }
  }

  private static FloatBuffer floats(INDArray a) {
    return a.data().asNio().order(ByteOrder.nativeOrder()).asFloatBuffer();
  }
}

package io.graft.onnx;

import static io.graft.onnx.OnnxImport.BATCH;
import static io.graft.onnx.OnnxImport.refuse;

import io.graft.onnx.OnnxImport.Pending;
import io.graft.onnx.OnnxImport.Value;
import io.graft.onnx.OnnxModel.Attribute;
import io.graft.onnx.OnnxModel.Node;
import io.graft.onnx.OnnxModel.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.graph.PreprocessorVertex;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.layers.ZeroPaddingLayer;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationLReLU;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.activations.impl.ActivationSigmoid;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.activations.impl.ActivationTanH;
import org.nd4j.linalg.api.ndarray.INDArray;

/** One ONNX node at a time into {@link OnnxImport}'s pending graph: the operator table of the import. */
final class OnnxOps {
  /** Operators the import maps, as the refusal of any other lists them. */
  static final List<String> SUPPORTED = List.of("Conv", "BatchNormalization", "Relu", "LeakyRelu", "Clip", "Sigmoid", "Tanh", "HardSigmoid",
      "HardSwish", "Softmax", "Add", "Sub", "Mul", "Div", "Concat", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
      "ReduceMean", "Flatten", "Reshape", "Gemm", "MatMul", "Dropout", "Identity", "Pad", "Constant", "Shape", "Gather", "Unsqueeze",
      "Squeeze", "Slice", "Cast");

  private final OnnxImport im;
  private final ConstantFolding folding;

  OnnxOps(OnnxImport im) {
    this.im = im;
    this.folding = new ConstantFolding(im);
  }

  void convert(Node n) {
    if (!n.domain().isEmpty() && !n.domain().equals("ai.onnx")) {
      throw refuse(n, "operator domain '" + n.domain() + "' is not ONNX's own; Graft maps standard operators only");
    }
    if (folding.fold(n)) {
      return;
    }
    switch (n.opType()) {
      case "Conv" -> conv(n);
      case "BatchNormalization" -> batchNorm(n);
      case "Relu" -> activation(n, new ActivationReLU());
      case "LeakyRelu" -> activation(n, new ActivationLReLU(floatAttr(n, "alpha", 0.01f)));
      case "Sigmoid" -> activation(n, new ActivationSigmoid());
      case "Tanh" -> activation(n, new ActivationTanH());
      case "HardSigmoid" -> activation(n, HardActivation.hardSigmoid(floatAttr(n, "alpha", 0.2f), floatAttr(n, "beta", 0.5f)));
      case "HardSwish" -> activation(n, HardActivation.hardSwish());
      case "Clip" -> clip(n);
      case "Softmax" -> softmax(n);
      case "Add", "Sub", "Mul", "Div" -> binary(n);
      case "Concat" -> concat(n);
      case "MaxPool", "AveragePool" -> pool(n);
      case "GlobalAveragePool", "GlobalMaxPool" -> globalPool(n, n.opType().equals("GlobalMaxPool") ? PoolingType.MAX : PoolingType.AVG, true);
      case "ReduceMean" -> reduceMean(n);
      case "Flatten" -> flatten(n, intAttr(n, "axis", 1));
      case "Reshape" -> reshape(n);
      case "Gemm" -> gemm(n);
      case "MatMul" -> matmul(n);
      case "Dropout", "Identity" -> im.produce(n, im.tensor(n, 0));
      case "Pad" -> pad(n);
      default -> throw refuse(n, "operator not supported by Graft's import (supported: " + String.join(", ", SUPPORTED) + ")");
    }
  }

  // ---- attributes

  static Attribute attr(Node n, String name) {
    return n.attributes().get(name);
  }

  static long intAttr(Node n, String name, long otherwise) {
    Attribute a = attr(n, name);
    return a == null ? otherwise : a.i();
  }

  static float floatAttr(Node n, String name, float otherwise) {
    Attribute a = attr(n, name);
    return a == null ? otherwise : a.f();
  }

  static long[] intsAttr(Node n, String name, long[] otherwise) {
    Attribute a = attr(n, name);
    return a == null ? otherwise : a.ints();
  }

  private static int[] ints(long[] v) {
    return Arrays.stream(v).mapToInt(Math::toIntExact).toArray();
  }

  private static void requireAutoPadNotSet(Node n) {
    Attribute a = attr(n, "auto_pad");
    if (a != null && !a.s().equals("NOTSET") && !a.s().equals("VALID")) {
      throw refuse(n, "attribute auto_pad=" + a.s() + " is not supported (export with explicit pads)");
    }
  }

  private Value image(Node n) {
    Value x = im.tensor(n, 0);
    if (x.rank() != 4) {
      throw refuse(n, "input has shape " + Arrays.toString(x.shape()) + "; this operator is mapped for images [batch, channels, height, width]");
    }
    return x;
  }

  // ---- convolution, normalisation, pooling

  private void conv(Node n) {
    requireAutoPadNotSet(n);
    Value x = image(n);
    Tensor w = im.constant(n, 1);
    Tensor bias = im.constant(n, 2);
    if (w == null || (n.inputs().size() > 2 && !n.inputs().get(2).isEmpty() && bias == null)) {
      throw refuse(n, "weights or bias computed by the graph; Graft maps convolutions with constant weights");
    }
    long c = x.shape()[1];
    long m = w.dims()[0];
    long group = intAttr(n, "group", 1);
    long[] k = {w.dims()[2], w.dims()[3]};
    long[] strides = intsAttr(n, "strides", new long[] {1, 1});
    long[] dil = intsAttr(n, "dilations", new long[] {1, 1});
    long[] pads = intsAttr(n, "pads", new long[] {0, 0, 0, 0});
    String input = padIfAsymmetric(n, x, pads);
    long[] pad = pads[0] == pads[2] && pads[1] == pads[3] ? new long[] {pads[0], pads[1]} : new long[] {0, 0};
    ConvolutionLayer.BaseConvBuilder<?> builder;
    INDArray weights = OnnxImport.array(w);
    if (group == 1) {
      builder = new ConvolutionLayer.Builder();
    } else if (group == c && m % c == 0 && w.dims()[1] == 1) {
      long mult = m / c;
      builder = new DepthwiseConvolution2D.Builder().depthMultiplier((int) mult);
      // ONNX [C·mult, 1, kH, kW] with output channel c·mult + j; DL4J [kH, kW, C, mult]
      weights = weights.reshape(c, mult, k[0], k[1]).permute(2, 3, 0, 1).dup('c');
    } else {
      throw refuse(n, "attribute group=" + group + " with " + c + " input channels: Graft maps group=1 and depthwise (group = input channels)");
    }
    builder.kernelSize(ints(k)).stride(ints(strides)).padding(ints(pad)).dilation(ints(dil)).convolutionMode(ConvolutionMode.Truncate)
        .hasBias(bias != null);
    ConvolutionLayer layer = (ConvolutionLayer) builder.build();
    layer.setNIn(c);
    layer.setNOut(m);
    layer.setActivationFn(OnnxImport.identity());
    Pending p = im.add(im.vertexName(n), layer, List.of(input));
    p.params.put("W", weights);
    if (bias != null) {
      p.params.put("b", OnnxImport.array(bias));
    }
    long h = (x.shape()[2] + pads[0] + pads[2] - dil[0] * (k[0] - 1) - 1) / strides[0] + 1;
    long wd = (x.shape()[3] + pads[1] + pads[3] - dil[1] * (k[1] - 1) - 1) / strides[1] + 1;
    im.produce(n, new Value(p.name, new long[] {-1, m, h, wd}));
  }

  /** Adds a zero-padding vertex in front when ONNX pads [top, left, bottom, right] are not symmetric; returns the vertex to read. */
  private String padIfAsymmetric(Node n, Value x, long[] pads) {
    if (pads[0] == pads[2] && pads[1] == pads[3]) {
      return x.vertex();
    }
    ZeroPaddingLayer zp = new ZeroPaddingLayer.Builder((int) pads[0], (int) pads[2], (int) pads[1], (int) pads[3]).build();
    return im.add(im.vertexName(n) + ".pad", zp, List.of(x.vertex())).name;
  }

  private void batchNorm(Node n) {
    Value x = im.tensor(n, 0);
    if (intAttr(n, "training_mode", 0) != 0) {
      throw refuse(n, "attribute training_mode=1 (export the model in eval mode)");
    }
    Tensor[] p = new Tensor[4];
    for (int i = 0; i < 4; i++) {
      p[i] = im.constant(n, i + 1);
      if (p[i] == null) {
        throw refuse(n, "scale, bias, mean and variance must be constants");
      }
    }
    long c = x.shape()[1];
    BatchNormalization bn = new BatchNormalization.Builder().nIn(c).nOut(c).eps(floatAttr(n, "epsilon", 1e-5f))
        .decay(floatAttr(n, "momentum", 0.9f)).useLogStd(false).build();
    bn.setActivationFn(OnnxImport.identity());
    Pending v = im.add(im.vertexName(n), bn, List.of(x.vertex()));
    v.params.put("gamma", OnnxImport.array(p[0]));
    v.params.put("beta", OnnxImport.array(p[1]));
    v.params.put("mean", OnnxImport.array(p[2]));
    v.params.put("var", OnnxImport.array(p[3]));
    im.produce(n, new Value(v.name, x.shape()));
  }

  private void pool(Node n) {
    requireAutoPadNotSet(n);
    Value x = image(n);
    boolean max = n.opType().equals("MaxPool");
    long[] k = intsAttr(n, "kernel_shape", null);
    long[] strides = intsAttr(n, "strides", new long[] {1, 1});
    long[] pads = intsAttr(n, "pads", new long[] {0, 0, 0, 0});
    long[] dil = intsAttr(n, "dilations", new long[] {1, 1});
    boolean includePad = intAttr(n, "count_include_pad", 0) == 1;
    if (intAttr(n, "storage_order", 0) != 0 || n.outputs().size() > 1 && !n.outputs().get(1).isEmpty()) {
      throw refuse(n, "pooling indices (second output / storage_order) are not supported");
    }
    long[] out = new long[2];
    for (int d = 0; d < 2; d++) {
      long span = x.shape()[2 + d] + pads[d] + pads[d + 2] - dil[d] * (k[d] - 1) - 1;
      long floor = span / strides[d] + 1;
      long ceil = (span + strides[d] - 1) / strides[d] + 1;
      if (intAttr(n, "ceil_mode", 0) == 1 && ceil != floor) {
        throw refuse(n, "attribute ceil_mode=1 adds an output " + (d == 0 ? "row" : "column") + " here (" + floor + " -> " + ceil
            + "); DL4J's pooling rounds down, so Graft does not map it");
      }
      out[d] = floor;
    }
    boolean symmetric = pads[0] == pads[2] && pads[1] == pads[3];
    String input = x.vertex();
    long[] pad = {pads[0], pads[1]};
    if (!symmetric) {
      if (max || !includePad) {
        throw refuse(n, "attribute pads=" + Arrays.toString(pads) + " is asymmetric; mapped only for average pooling that counts the padding");
      }
      input = padIfAsymmetric(n, x, pads);
      pad = new long[] {0, 0};
    }
    SubsamplingLayer layer = new SubsamplingLayer.Builder(max ? PoolingType.MAX : PoolingType.AVG).kernelSize(ints(k)).stride(ints(strides))
        .padding(ints(pad)).dilation(ints(dil)).convolutionMode(ConvolutionMode.Truncate).avgPoolIncludePadInDivisor(includePad).build();
    Pending p = im.add(im.vertexName(n), layer, List.of(input));
    im.produce(n, new Value(p.name, new long[] {-1, x.shape()[1], out[0], out[1]}));
  }

  private void globalPool(Node n, PoolingType type, boolean keepDims) {
    Value x = image(n);
    GlobalPoolingLayer layer = new GlobalPoolingLayer.Builder(type).collapseDimensions(!keepDims).build();
    Pending p = im.add(im.vertexName(n), layer, List.of(x.vertex()));
    long c = x.shape()[1];
    im.produce(n, new Value(p.name, keepDims ? new long[] {-1, c, 1, 1} : new long[] {-1, c}));
  }

  private void reduceMean(Node n) {
    Value x = image(n);
    long[] axes = intsAttr(n, "axes", new long[0]);
    long[] normalized = Arrays.stream(axes).map(a -> a < 0 ? a + 4 : a).sorted().toArray();
    if (!Arrays.equals(normalized, new long[] {2, 3})) {
      throw refuse(n, "attribute axes=" + Arrays.toString(axes) + "; mapped only as a global average over height and width (axes [2, 3])");
    }
    globalPool(n, PoolingType.AVG, intAttr(n, "keepdims", 1) == 1);
  }

  private void pad(Node n) {
    Value x = image(n);
    Attribute mode = attr(n, "mode");
    Tensor pads = im.constant(n, 1);
    Tensor value = im.constant(n, 2);
    if (mode != null && !mode.s().equals("constant")) {
      throw refuse(n, "attribute mode=" + mode.s() + "; Graft maps constant (zero) padding");
    }
    if (pads == null || value != null && value.isFloat() && value.floats().length > 0 && value.floats()[0] != 0) {
      throw refuse(n, "padding must be constant amounts of zeros");
    }
    long[] p = pads.longs(); // [x1_begin, x2_begin, x3_begin, x4_begin, x1_end, ...]
    if (p.length != 8 || p[0] != 0 || p[1] != 0 || p[4] != 0 || p[5] != 0 || Arrays.stream(p).anyMatch(v -> v < 0)) {
      throw refuse(n, "pads " + Arrays.toString(p) + ": mapped only for non-negative padding of height and width");
    }
    ZeroPaddingLayer zp = new ZeroPaddingLayer.Builder((int) p[2], (int) p[6], (int) p[3], (int) p[7]).build();
    Pending v = im.add(im.vertexName(n), zp, List.of(x.vertex()));
    im.produce(n, new Value(v.name, new long[] {-1, x.shape()[1], x.shape()[2] + p[2] + p[6], x.shape()[3] + p[3] + p[7]}));
  }

  // ---- activations

  private void activation(Node n, IActivation fn) {
    Value x = im.tensor(n, 0);
    Pending src = im.vertices.get(x.vertex());
    if (src != null && OnnxImport.takesActivation(src.conf) && im.singleUse(n.inputs().get(0)) && src.consumers == 0) {
      ((BaseLayer) src.conf).setActivationFn(fn);
      im.produce(n, x);
      return;
    }
    Pending p = im.add(im.vertexName(n), new ActivationLayer.Builder().activation(fn).build(), List.of(x.vertex()));
    im.produce(n, new Value(p.name, x.shape()));
  }

  private void clip(Node n) {
    float lo = floatAttr(n, "min", Float.NEGATIVE_INFINITY);
    float hi = floatAttr(n, "max", Float.POSITIVE_INFINITY);
    Tensor min = im.constant(n, 1);
    Tensor max = im.constant(n, 2);
    if (n.inputs().size() > 1 && !n.inputs().get(1).isEmpty() && min == null || n.inputs().size() > 2 && !n.inputs().get(2).isEmpty() && max == null) {
      throw refuse(n, "min/max computed by the graph; Graft maps constant bounds");
    }
    lo = min == null ? lo : min.floats()[0];
    hi = max == null ? hi : max.floats()[0];
    activation(n, lo == 0 && hi == Float.POSITIVE_INFINITY ? new ActivationReLU() : HardActivation.clip(lo, hi));
  }

  private void softmax(Node n) {
    Value x = im.tensor(n, 0);
    long axis = intAttr(n, "axis", -1);
    if (x.rank() != 2 || (axis != 1 && axis != -1)) {
      throw refuse(n, "softmax over axis " + axis + " of shape " + Arrays.toString(x.shape()) + "; mapped over the features of [batch, features]");
    }
    activation(n, new ActivationSoftmax());
  }

  // ---- element-wise, concat

  private void binary(Node n) {
    BroadcastVertex.Op op = BroadcastVertex.Op.valueOf(n.opType().toUpperCase());
    Tensor ca = im.constant(n, 0);
    Tensor cb = im.constant(n, 1);
    if (ca == null && cb == null) {
      Value a = im.tensor(n, 0);
      Value b = im.tensor(n, 1);
      long[] shape = broadcast(n, a.shape(), b.shape());
      Object conf = Arrays.equals(a.shape(), b.shape()) && op != BroadcastVertex.Op.DIV
          ? new ElementWiseVertex(switch (op) {
            case ADD -> ElementWiseVertex.Op.Add;
            case SUB -> ElementWiseVertex.Op.Subtract;
            default -> ElementWiseVertex.Op.Product;
          })
          : new BroadcastVertex(op);
      Pending p = im.add(im.vertexName(n), conf, List.of(a.vertex(), b.vertex()));
      im.produce(n, new Value(p.name, shape));
      return;
    }
    boolean constantFirst = ca != null;
    Tensor c = constantFirst ? ca : cb;
    Value x = im.tensor(n, constantFirst ? 1 : 0);
    if (!c.isFloat()) {
      throw refuse(n, "integer constant " + c.name() + " applied to the graph's data");
    }
    Pending src = im.vertices.get(x.vertex());
    if (op == BroadcastVertex.Op.ADD && src != null && src.conf instanceof DenseLayer d && !d.hasBias() && src.consumers == 0
        && im.singleUse(n.inputs().get(constantFirst ? 1 : 0)) && c.size() == d.getNOut()) {
      d.setHasBias(true); // MatMul + Add: the Add is the dense layer's bias
      src.params.put("b", OnnxImport.array(c));
      im.produce(n, x);
      return;
    }
    long[] cshape = c.dims();
    long[] shape = broadcast(n, x.shape(), cshape);
    if (!Arrays.equals(shape, x.shape())) {
      throw refuse(n, "constant " + c.name() + " " + Arrays.toString(cshape) + " would grow the data's shape " + Arrays.toString(x.shape()));
    }
    long[] full = new long[x.rank()];
    Arrays.fill(full, 1);
    System.arraycopy(cshape, 0, full, full.length - cshape.length, cshape.length);
    full[0] = 1;
    double[] values = new double[c.floats().length];
    for (int i = 0; i < values.length; i++) {
      values[i] = c.floats()[i];
    }
    Pending p = im.add(im.vertexName(n), new BroadcastVertex(op, values, full, constantFirst), List.of(x.vertex()));
    im.produce(n, new Value(p.name, shape));
  }

  /** NumPy broadcasting of two shapes (batch as -1); refuses shapes that do not broadcast. */
  static long[] broadcast(Node n, long[] a, long[] b) {
    int rank = Math.max(a.length, b.length);
    long[] out = new long[rank];
    for (int i = 0; i < rank; i++) {
      long x = i < rank - a.length ? 1 : a[i - (rank - a.length)];
      long y = i < rank - b.length ? 1 : b[i - (rank - b.length)];
      if (x != y && x != 1 && y != 1) {
        throw refuse(n, "shapes " + Arrays.toString(a) + " and " + Arrays.toString(b) + " do not broadcast");
      }
      out[i] = x == 1 ? y : x;
    }
    return out;
  }

  private void concat(Node n) {
    List<String> ins = new ArrayList<>();
    long[] shape = null;
    long axis = intAttr(n, "axis", 1);
    for (int i = 0; i < n.inputs().size(); i++) {
      Value v = im.tensor(n, i);
      long a = axis < 0 ? axis + v.rank() : axis;
      if (a != 1) {
        throw refuse(n, "attribute axis=" + axis + "; Graft concatenates channels or features (axis 1)");
      }
      if (shape == null) {
        shape = v.shape().clone();
      } else {
        shape[1] += v.shape()[1];
      }
      ins.add(v.vertex());
    }
    Pending p = im.add(im.vertexName(n), new MergeVertex(), ins);
    im.produce(n, new Value(p.name, shape));
  }

  // ---- flatten, reshape, linear layers

  void flatten(Node n, long axis) {
    Value x = im.tensor(n, 0);
    if (axis != 1 && !(axis == -1 && x.rank() == 2)) {
      throw refuse(n, "attribute axis=" + axis + "; Graft maps a flatten after the batch dimension (axis 1)");
    }
    if (x.rank() == 2) {
      im.produce(n, x);
      return;
    }
    long[] s = x.shape();
    Pending p = im.add(im.vertexName(n), new PreprocessorVertex(new CnnToFeedForwardPreProcessor(s[2], s[3], s[1])), List.of(x.vertex()));
    im.produce(n, new Value(p.name, new long[] {-1, s[1] * s[2] * s[3]}));
  }

  private void reshape(Node n) {
    Value x = im.tensor(n, 0);
    Tensor target = im.constant(n, 1);
    if (target == null) {
      throw refuse(n, "target shape computed from the data; Graft maps reshapes whose shape folds to constants");
    }
    long[] t = target.longs().clone();
    long elements = 1;
    for (int i = 1; i < x.rank(); i++) {
      elements *= x.shape()[i];
    }
    if (t.length == 2 && (t[0] == BATCH || t[0] == -1 || t[0] == 0 && x.rank() > 0) && (t[1] == -1 || t[1] == elements)) {
      flatten(n, 1);
      return;
    }
    throw refuse(n, "reshape of " + Arrays.toString(x.shape()) + " to " + Arrays.toString(t).replace(String.valueOf(BATCH), "batch")
        + "; Graft maps a reshape only as a flatten to [batch, features]");
  }

  private void gemm(Node n) {
    Value x = im.tensor(n, 0);
    Tensor w = im.constant(n, 1);
    Tensor c = im.constant(n, 2);
    if (intAttr(n, "transA", 0) != 0) {
      throw refuse(n, "attribute transA=1 is not supported");
    }
    if (w == null || n.inputs().size() > 2 && !n.inputs().get(2).isEmpty() && c == null) {
      throw refuse(n, "weights or bias computed by the graph; Graft maps linear layers with constant weights");
    }
    INDArray weights = OnnxImport.array(w).mul(floatAttr(n, "alpha", 1f));
    if (intAttr(n, "transB", 0) == 1) {
      weights = weights.transpose().dup('c'); // ONNX [out, in] -> DL4J [in, out]
    }
    INDArray bias = c == null ? null : OnnxImport.array(c).mul(floatAttr(n, "beta", 1f));
    dense(n, x, weights, bias);
  }

  private void matmul(Node n) {
    Value x = im.tensor(n, 0);
    Tensor w = im.constant(n, 1);
    if (w == null || w.dims().length != 2) {
      throw refuse(n, "the right operand must be a constant matrix; Graft maps MatMul as a linear layer");
    }
    dense(n, x, OnnxImport.array(w), null);
  }

  private void dense(Node n, Value x, INDArray weights, INDArray bias) {
    if (x.rank() != 2 || x.shape()[1] != weights.size(0)) {
      throw refuse(n, "input " + Arrays.toString(x.shape()) + " does not match weights " + Arrays.toString(weights.shape())
          + " (a linear layer takes [batch, features])");
    }
    DenseLayer layer = new DenseLayer.Builder().nIn(weights.size(0)).nOut(weights.size(1)).hasBias(bias != null).build();
    layer.setActivationFn(OnnxImport.identity());
    Pending p = im.add(im.vertexName(n), layer, List.of(x.vertex()));
    p.params.put("W", weights);
    if (bias != null) {
      p.params.put("b", bias);
    }
    im.produce(n, new Value(p.name, new long[] {-1, weights.size(1)}));
  }
}

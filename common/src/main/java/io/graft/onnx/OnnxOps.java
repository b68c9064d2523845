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
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.graph.PreprocessorVertex;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
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
  private final SpatialOps spatial;

  OnnxOps(OnnxImport im) {
    this.im = im;
    this.folding = new ConstantFolding(im);
    this.spatial = new SpatialOps(im);
  }

  void convert(Node n) {
    if (!n.domain().isEmpty() && !n.domain().equals("ai.onnx")) {
      throw refuse(n, "operator domain '" + n.domain() + "' is not ONNX's own; Graft maps standard operators only");
    }
    if (folding.fold(n)) {
      return;
    }
    switch (n.opType()) {
      case "Conv" -> spatial.conv(n);
      case "BatchNormalization" -> spatial.batchNorm(n);
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
      case "MaxPool", "AveragePool" -> spatial.pool(n);
      case "GlobalAveragePool", "GlobalMaxPool" -> spatial.globalPool(n, n.opType().equals("GlobalMaxPool") ? PoolingType.MAX : PoolingType.AVG, true);
      case "ReduceMean" -> spatial.reduceMean(n);
      case "Flatten" -> flatten(n, intAttr(n, "axis", 1));
      case "Reshape" -> reshape(n);
      case "Gemm" -> gemm(n);
      case "MatMul" -> matmul(n);
      case "Dropout", "Identity" -> im.produce(n, im.tensor(n, 0));
      case "Pad" -> spatial.pad(n);
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

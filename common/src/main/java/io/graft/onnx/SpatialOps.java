package io.graft.onnx;

import static io.graft.onnx.OnnxImport.refuse;
import static io.graft.onnx.OnnxOps.attr;
import static io.graft.onnx.OnnxOps.floatAttr;
import static io.graft.onnx.OnnxOps.intAttr;
import static io.graft.onnx.OnnxOps.intsAttr;

import io.graft.onnx.OnnxImport.Pending;
import io.graft.onnx.OnnxImport.Value;
import io.graft.onnx.OnnxModel.Attribute;
import io.graft.onnx.OnnxModel.Node;
import io.graft.onnx.OnnxModel.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.layers.ZeroPaddingLayer;
import org.deeplearning4j.nn.conf.layers.convolutional.Cropping2D;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** The import's operators on images [batch, channels, height, width]: convolution, batch norm, pooling, padding. */
final class SpatialOps {
  private final OnnxImport im;

  SpatialOps(OnnxImport im) {
    this.im = im;
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

  void conv(Node n) {
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
    } else if (c % group == 0 && m % group == 0 && w.dims()[1] == c / group) {
      groupedConv(n, x, input, weights, bias == null ? null : OnnxImport.array(bias), (int) group, k, strides, dil, pad, pads);
      return;
    } else {
      throw refuse(n, "attribute group=" + group + " with " + c + " input channels and weights " + Arrays.toString(w.dims())
          + ": the groups do not divide the channels");
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

  /**
   * A convolution of {@code group} groups (neither plain nor depthwise), as DL4J has no such layer:
   * each group's input channels ({@code NAME.in<g>}, a {@link ChannelSubsetVertex}), its own convolution
   * ({@code NAME.g<g>}, that group's slice of the ONNX weights [out, in/group, kH, kW]), and the
   * groups' outputs concatenated in order ({@code NAME}).
   */
  private void groupedConv(Node n, Value x, String input, INDArray weights, INDArray bias, int group, long[] k, long[] strides, long[] dil,
      long[] pad, long[] pads) {
    String name = im.vertexName(n);
    long c = x.shape()[1];
    long m = weights.size(0);
    long cg = c / group;
    long mg = m / group;
    List<String> parts = new ArrayList<>();
    for (int g = 0; g < group; g++) {
      Pending in = im.add(name + ".in" + g, new ChannelSubsetVertex((int) (g * cg), (int) ((g + 1) * cg - 1)), List.of(input));
      ConvolutionLayer layer = new ConvolutionLayer.Builder().kernelSize(ints(k)).stride(ints(strides)).padding(ints(pad)).dilation(ints(dil))
          .convolutionMode(ConvolutionMode.Truncate).hasBias(bias != null).build();
      layer.setNIn(cg);
      layer.setNOut(mg);
      layer.setActivationFn(OnnxImport.identity());
      Pending p = im.add(name + ".g" + g, layer, List.of(in.name));
      p.params.put("W", weights.get(NDArrayIndex.interval(g * mg, (g + 1) * mg), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all())
          .dup('c'));
      if (bias != null) {
        p.params.put("b", bias.reshape(-1).get(NDArrayIndex.interval(g * mg, (g + 1) * mg)).reshape(bias.shape()[0] == m ? new long[] {mg}
            : new long[] {1, mg}).dup());
      }
      parts.add(p.name);
    }
    Pending merged = im.add(name, new MergeVertex(), parts);
    long h = (x.shape()[2] + pads[0] + pads[2] - dil[0] * (k[0] - 1) - 1) / strides[0] + 1;
    long wd = (x.shape()[3] + pads[1] + pads[3] - dil[1] * (k[1] - 1) - 1) / strides[1] + 1;
    im.produce(n, new Value(merged.name, new long[] {-1, m, h, wd}));
  }

  /** Adds a zero-padding vertex in front when ONNX pads [top, left, bottom, right] are not symmetric; returns the vertex to read. */
  private String padIfAsymmetric(Node n, Value x, long[] pads) {
    if (pads[0] == pads[2] && pads[1] == pads[3]) {
      return x.vertex();
    }
    ZeroPaddingLayer zp = new ZeroPaddingLayer.Builder((int) pads[0], (int) pads[2], (int) pads[1], (int) pads[3]).build();
    return im.add(im.vertexName(n) + ".pad", zp, List.of(x.vertex())).name;
  }

  void batchNorm(Node n) {
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

  /**
   * MaxPool and AveragePool. Symmetric padding with the output size rounded down is DL4J's own
   * pooling. {@code ceil_mode} (an extra window at the end) and asymmetric padding are mapped
   * exactly: DL4J's pooling with one symmetric padding P on the same grid of window starts (P =
   * begin padding + m strides, large enough for the last window), a crop of the windows ONNX does
   * not have, and for average pooling DL4J's divisor (the whole kernel) rescaled per output
   * position to ONNX's (the input and end padding the window covers with {@code count_include_pad},
   * the input alone without).
   */
  void pool(Node n) {
    requireAutoPadNotSet(n);
    Value x = image(n);
    boolean max = n.opType().equals("MaxPool");
    long[] k = intsAttr(n, "kernel_shape", null);
    long[] strides = intsAttr(n, "strides", new long[] {1, 1});
    long[] pads = intsAttr(n, "pads", new long[] {0, 0, 0, 0});
    long[] dil = intsAttr(n, "dilations", new long[] {1, 1});
    boolean includePad = intAttr(n, "count_include_pad", 0) == 1;
    boolean ceilMode = intAttr(n, "ceil_mode", 0) == 1;
    if (intAttr(n, "storage_order", 0) != 0 || n.outputs().size() > 1 && !n.outputs().get(1).isEmpty()) {
      throw refuse(n, "pooling indices (second output / storage_order) are not supported");
    }
    long[] in = {x.shape()[2], x.shape()[3]};
    long[] span = new long[2];
    long[] out = new long[2];
    boolean plain = true;
    for (int d = 0; d < 2; d++) {
      span[d] = dil[d] * (k[d] - 1) + 1;
      long room = in[d] + pads[d] + pads[d + 2] - span[d];
      long floor = room / strides[d] + 1;
      out[d] = ceilMode ? (room + strides[d] - 1) / strides[d] + 1 : floor;
      if (out[d] > floor && (out[d] - 1) * strides[d] >= in[d] + pads[d]) {
        throw refuse(n, "attribute ceil_mode=1 starts the last " + (d == 0 ? "row's" : "column's") + " window in the end padding here;"
            + " Graft maps ceil_mode where every window starts inside the input or its begin padding");
      }
      plain &= out[d] == floor && pads[d] == pads[d + 2];
    }
    String name = im.vertexName(n);
    if (plain) {
      SubsamplingLayer layer = pooling(max, k, strides, new long[] {pads[0], pads[1]}, dil, includePad);
      Pending p = im.add(name, layer, List.of(x.vertex()));
      im.produce(n, new Value(p.name, new long[] {-1, x.shape()[1], out[0], out[1]}));
      return;
    }
    if (!max && (dil[0] != 1 || dil[1] != 1)) {
      throw refuse(n, "attribute dilations=" + Arrays.toString(dil) + " on average pooling");
    }
    long[] padding = new long[2];
    long[] cropBegin = new long[2];
    long[] cropEnd = new long[2];
    for (int d = 0; d < 2; d++) {
      // the end padding ONNX's last window reaches into; DL4J pads both sides alike, on the same grid of window starts
      long endReach = (out[d] - 1) * strides[d] - pads[d] + span[d] - in[d];
      long m = Math.max(0, Math.floorDiv(endReach - pads[d] + strides[d] - 1, strides[d]));
      padding[d] = pads[d] + m * strides[d];
      long windows = (in[d] + 2 * padding[d] - span[d]) / strides[d] + 1;
      cropBegin[d] = m;
      cropEnd[d] = windows - m - out[d];
    }
    double[] scale = new double[(int) (out[0] * out[1])];
    boolean rescale = false;
    for (int i = 0; i < out[0] && !max; i++) {
      for (int j = 0; j < out[1]; j++) {
        long divisor = covered(i, strides[0], pads[0], pads[2], k[0], in[0], includePad)
            * covered(j, strides[1], pads[1], pads[3], k[1], in[1], includePad);
        scale[(int) (i * out[1] + j)] = (double) (k[0] * k[1]) / divisor;
        rescale |= divisor != k[0] * k[1];
      }
    }
    boolean crop = cropBegin[0] + cropEnd[0] + cropBegin[1] + cropEnd[1] > 0;
    String last = im.add(crop || rescale ? name + ".pool" : name, pooling(max, k, strides, padding, dil, true), List.of(x.vertex())).name;
    if (crop) {
      Cropping2D c = new Cropping2D((int) cropBegin[0], (int) cropEnd[0], (int) cropBegin[1], (int) cropEnd[1]);
      last = im.add(rescale ? name + ".crop" : name, c, List.of(last)).name;
    }
    if (rescale) {
      last = im.add(name, new BroadcastVertex(BroadcastVertex.Op.MUL, scale, new long[] {1, 1, out[0], out[1]}, false), List.of(last)).name;
    }
    im.produce(n, new Value(last, new long[] {-1, x.shape()[1], out[0], out[1]}));
  }

  /**
   * How many of the k rows of output row i's window ONNX divides by: those on the input, and with
   * {@code count_include_pad} the begin and end padding too (not the rows past the end padding that
   * ceil_mode adds).
   */
  private static long covered(long i, long stride, long padBegin, long padEnd, long k, long size, boolean includePad) {
    long start = i * stride - padBegin;
    long end = start + k;
    return includePad ? Math.min(end, size + padEnd) - start : Math.min(end, size) - Math.max(start, 0);
  }

  private static SubsamplingLayer pooling(boolean max, long[] k, long[] strides, long[] padding, long[] dil, boolean includePad) {
    return new SubsamplingLayer.Builder(max ? PoolingType.MAX : PoolingType.AVG).kernelSize(ints(k)).stride(ints(strides))
        .padding(ints(padding)).dilation(ints(dil)).convolutionMode(ConvolutionMode.Truncate).avgPoolIncludePadInDivisor(includePad).build();
  }

  void globalPool(Node n, PoolingType type, boolean keepDims) {
    Value x = image(n);
    GlobalPoolingLayer layer = new GlobalPoolingLayer.Builder(type).collapseDimensions(!keepDims).build();
    Pending p = im.add(im.vertexName(n), layer, List.of(x.vertex()));
    long c = x.shape()[1];
    im.produce(n, new Value(p.name, keepDims ? new long[] {-1, c, 1, 1} : new long[] {-1, c}));
  }

  void reduceMean(Node n) {
    Value x = image(n);
    long[] axes = intsAttr(n, "axes", new long[0]);
    long[] normalized = Arrays.stream(axes).map(a -> a < 0 ? a + 4 : a).sorted().toArray();
    if (!Arrays.equals(normalized, new long[] {2, 3})) {
      throw refuse(n, "attribute axes=" + Arrays.toString(axes) + "; mapped only as a global average over height and width (axes [2, 3])");
    }
    globalPool(n, PoolingType.AVG, intAttr(n, "keepdims", 1) == 1);
  }

  void pad(Node n) {
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
}

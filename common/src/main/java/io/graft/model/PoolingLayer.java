package io.graft.model;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.layers.convolution.subsampling.SubsamplingLayer;
import org.deeplearning4j.nn.layers.mkldnn.MKLDNNSubsamplingHelper;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.deeplearning4j.util.ConvolutionUtils;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * DL4J's subsampling layer with its forward pass on {@link PoolingKernels} too. DL4J 1.0.0-M2.1's
 * layer hands only its backward pass to its helper; the forward pass calls libnd4j's pooling op, which
 * runs oneDNN's pooling (its reference kernel on AVX2 CPUs). Only the running layer object is replaced:
 * the configuration is the network's, so a saved model is unchanged. Pooling that {@link PoolingKernels}
 * does not compute runs DL4J's forward pass, and bad input gets DL4J's own errors.
 */
final class PoolingLayer extends SubsamplingLayer {

  private PoolingLayer(NeuralNetConfiguration conf, DataType dataType) {
    super(conf, dataType);
  }

  /** {@code layer}, or a {@link PoolingLayer} in its place where it is DL4J's plain subsampling layer on DL4J's oneDNN helper. */
  static Layer replacing(Layer layer, DataType dataType) {
    if (layer.getClass() != SubsamplingLayer.class || ((SubsamplingLayer) layer).getHelper() == null
        || ((SubsamplingLayer) layer).getHelper().getClass() != MKLDNNSubsamplingHelper.class) {
      return layer;
    }
    PoolingLayer replacement = new PoolingLayer(layer.conf(), dataType);
    replacement.setIndex(layer.getIndex());
    replacement.setListeners(layer.getListeners());
    return replacement;
  }

  @Override
  public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
    org.deeplearning4j.nn.conf.layers.SubsamplingLayer c = layerConf();
    if (!(helper instanceof PoolingKernels kernels) || input == null
        || !PoolingKernels.handles(input, c.getPadding(), c.getPoolingType(), convolutionMode, c.getDilation(), c.getCnn2dDataFormat())) {
      return super.activate(training, workspaceMgr);
    }
    // DL4J's validation of the sizes, with its messages
    ConvolutionUtils.getOutputSize(input, c.getKernelSize(), c.getStride(), c.getPadding(), convolutionMode, c.getDilation(),
        CNN2DFormat.NCHW);
    return kernels.activate(input, training, c.getKernelSize(), c.getStride(), c.getPadding(), c.getPoolingType(), convolutionMode,
        c.getDilation(), CNN2DFormat.NCHW, workspaceMgr);
  }
}

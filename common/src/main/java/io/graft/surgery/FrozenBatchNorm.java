package io.graft.surgery;

import java.util.Collection;
import java.util.List;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayerWithBackprop;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.params.BatchNormalizationParamInitializer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Broadcast;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * A frozen batch-norm layer that gradients pass through: what a fine-tuning stage makes of batch
 * norm above a trainable layer (a LoRA branch, an adapter) when batch norm stays frozen.
 *
 * <p>Frozen batch norm runs in inference mode, y = γ (x − μ) / σ + β per channel with the running
 * μ and σ, so the gradient reaching x is γ / σ times the gradient at y. DL4J's
 * {@code FrozenLayerWithBackprop} asks the batch-norm layer itself for that gradient, and DL4J's
 * batch norm answers with the training-mode formula (batch statistics, and arrays from a workspace
 * closed since the forward pass): gradients below it are wrong, and a training workspace reports an
 * "outdated workspace pointer". This layer computes the inference-mode gradient itself.
 */
public class FrozenBatchNorm extends FrozenLayerWithBackprop {
  public FrozenBatchNorm(@JsonProperty("layer") org.deeplearning4j.nn.conf.layers.Layer layer) {
    super(layer);
  }

  @Override
  public org.deeplearning4j.nn.conf.layers.Layer clone() {
    return super.clone();
  }

  @Override
  public Layer instantiate(NeuralNetConfiguration conf, Collection<TrainingListener> listeners, int layerIndex, INDArray paramsView,
      boolean initializeParams, DataType dataType) {
    Layer inner = getUnderlying().instantiate(getInnerConf(conf), listeners, layerIndex, paramsView, initializeParams, dataType);
    NeuralNetConfiguration innerConf = inner.conf();
    if (innerConf.variables() != null) {
      List<String> vars = innerConf.variables(true);
      innerConf.clearVariables();
      conf.clearVariables();
      for (String s : vars) {
        conf.variables(false).add(s);
        innerConf.variables(false).add(s);
      }
    }
    return new Impl(inner);
  }

  /** The layer: the wrapped batch norm forward in inference mode, γ/σ per channel backward, no parameter gradients. */
  static final class Impl extends org.deeplearning4j.nn.layers.FrozenLayerWithBackprop {
    private final Gradient none = new DefaultGradient();

    Impl(Layer inner) {
      super(inner);
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
      BatchNormalization bn = (BatchNormalization) underlying.conf().getLayer();
      INDArray scale = scale(bn, underlying.paramTable()).castTo(epsilon.dataType());
      int channels = epsilon.rank() == 4 && bn.getCnn2DFormat() == CNN2DFormat.NHWC ? 3 : 1;
      INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, epsilon.dataType(), epsilon.shape(), epsilon.ordering());
      Broadcast.mul(epsilon, scale, out, channels);
      return new Pair<>(none, out);
    }
  }

  /** γ/σ per channel, σ from the running statistics as DL4J's inference pass computes it. */
  static INDArray scale(BatchNormalization bn, java.util.Map<String, INDArray> params) {
    INDArray std;
    if (bn.isUseLogStd()) {
      std = Transforms.exp(params.get(BatchNormalizationParamInitializer.GLOBAL_LOG_STD).mul(Math.log(10)), false); // 10^log10(σ)
    } else {
      std = Transforms.sqrt(params.get(BatchNormalizationParamInitializer.GLOBAL_VAR).add(bn.getEps()), false);
    }
    INDArray gamma = bn.isLockGammaBeta() ? std.like().assign(bn.getGamma()) : params.get(BatchNormalizationParamInitializer.GAMMA);
    return gamma.div(std).reshape(-1);
  }
}

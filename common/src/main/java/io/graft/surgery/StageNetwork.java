package io.graft.surgery;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.IntFunction;
import java.util.function.IntPredicate;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.dropout.Dropout;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.conf.layers.samediff.AbstractSameDiffLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.learning.regularization.WeightDecay;

/**
 * The network one fine-tuning stage trains: which layers are frozen (below the stage's lowest
 * trainable layer, except the ones it names), and each trainable layer's updater, weight decay and
 * dropout (discriminative and scheduled rates come in through the updater per layer).
 */
public final class StageNetwork {
  private StageNetwork() {}

  /** How one stage trains: which layers, at which rates, with which regularisation. */
  public record Plan(
      int lowestTrainable,
      Set<Integer> alsoTrainable,
      IntFunction<IUpdater> updaterForLayer,
      double weightDecay,
      double dropout,
      boolean freezeBatchNorm) {}

  /** Gives a trainable layer its own updater (no separate bias updater), weight decay on weights only, and dropout for dense layers. */
  static void configureTrainable(Layer layer, IUpdater u, double weightDecay, double dropout) {
    List<Regularization> reg = weightDecay > 0 ? List.of(new WeightDecay(weightDecay, true)) : List.of();
    if (layer instanceof BaseLayer bl) {
      bl.setIUpdater(u);
      bl.setBiasUpdater(null);
      bl.setRegularization(new ArrayList<>(reg));
      bl.setRegularizationBias(new ArrayList<>());
      if (dropout > 0 && layer instanceof DenseLayer) {
        bl.setIDropout(new Dropout(1.0 - dropout));
      }
    } else if (layer instanceof AbstractSameDiffLayer sd) {
      sd.setUpdater(u);
      sd.setBiasUpdater(null);
      sd.setRegularization(new ArrayList<>(reg));
      sd.setRegularizationBias(new ArrayList<>());
    }
  }

  /**
   * The network for one stage: a copy of {@code working} whose layers below
   * {@code lowestTrainable} (and not in {@code alsoTrainable}) are frozen, and whose trainable
   * layers each get their own updater, weight decay and dropout. Parameters are copied; the
   * updater state starts fresh.
   */
  public static MultiLayerNetwork build(MultiLayerNetwork working, Plan plan) {
    MultiLayerConfiguration conf = working.getLayerWiseConfigurations().clone();
    conf.setIterationCount(0);
    conf.setEpochCount(0);
    List<NeuralNetConfiguration> confs = conf.getConfs();
    IntPredicate isTrainable = i -> i >= plan.lowestTrainable() || plan.alsoTrainable().contains(i)
        || (Surgery.inner(confs.get(i).getLayer()) instanceof BatchNormalization && !plan.freezeBatchNorm());
    int lowestTrainable = confs.size();
    for (int i = 0; i < confs.size(); i++) {
      if (isTrainable.test(i)) {
        lowestTrainable = Math.min(lowestTrainable, i);
      }
    }
    for (int i = 0; i < confs.size(); i++) {
      Layer layer = Surgery.inner(confs.get(i).getLayer()).clone();
      boolean trainable = isTrainable.test(i);
      if (trainable) {
        configureTrainable(layer, plan.updaterForLayer().apply(i), plan.weightDecay(), plan.dropout());
        confs.get(i).setLayer(layer);
      } else {
        Layer frozen = i > lowestTrainable ? Surgery.frozenWithBackprop(layer) : new FrozenLayer(layer);
        frozen.setLayerName(layer.getLayerName());
        confs.get(i).setLayer(frozen);
      }
    }
    MultiLayerNetwork net = new MultiLayerNetwork(conf);
    net.init(working.params().dup(), false);
    return net;
  }
}

package io.graft.engine;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;

/**
 * Cross-cutting behaviour on the round loop (progress, checkpoints, metrics logs, early
 * stopping). Called on the driver after each round's evaluation, with the averaged network.
 */
@FunctionalInterface
public interface RoundListener {
  void onRound(RoundMetrics metrics, MultiLayerNetwork network) throws Exception;
}

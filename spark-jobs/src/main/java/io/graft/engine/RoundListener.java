package io.graft.engine;

import org.deeplearning4j.nn.api.Model;

/**
 * Cross-cutting behaviour on the round loop (progress, checkpoints, metrics logs, early
 * stopping). Called on the driver after each round's evaluation, with the averaged network: a
 * {@code MultiLayerNetwork} or a {@code ComputationGraph}, whichever the job trains.
 */
@FunctionalInterface
public interface RoundListener {
  void onRound(RoundMetrics metrics, Model network) throws Exception;
}

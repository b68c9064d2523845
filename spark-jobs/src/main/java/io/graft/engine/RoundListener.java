package io.graft.engine;

import org.deeplearning4j.nn.api.Model;

/**
 * Cross-cutting behaviour on the round loop (progress, checkpoints, metrics logs, early
 * stopping). Called on the driver after each round's evaluation, with the averaged network: a
 * {@code MultiLayerNetwork} or a {@code ComputationGraph}, whichever the job trains. A listener
 * that is also {@link AutoCloseable} is closed when the loop it was given to ends.
 */
@FunctionalInterface
public interface RoundListener {
  /** Called on the driver before round {@code round} of {@code rounds} starts training. */
  default void onRoundStart(int round, int rounds) {}

  void onRound(RoundMetrics metrics, Model network) throws Exception;
}

/**
 * The training engine every job runs on: the skeleton of a training run
 * ({@link io.graft.engine.TrainingRun}: start or resume, what each round leaves, publishing), the
 * one round loop ({@link io.graft.engine.RoundLoop}: a network on dl4j-spark's parameter averaging
 * or Graft's own, or a job's own trainer for shared-trunk graphs) and its one metrics type
 * ({@link io.graft.engine.RoundMetrics}), Graft's own parameter
 * averaging ({@link io.graft.engine.SyncAveraging}), distributed evaluation
 * ({@link io.graft.engine.DistributedEvaluator}, {@link io.graft.engine.GraphEvaluator}), and what
 * a round leaves behind: checkpoints ({@link io.graft.engine.Checkpoints}), {@code metrics.jsonl}
 * ({@link io.graft.engine.MetricsLog}) and the hooks of {@link io.graft.engine.RoundListener}. It
 * depends on {@code io.graft.spark} and the {@code common} module, never on the job packages or
 * the command line.
 */
package io.graft.engine;

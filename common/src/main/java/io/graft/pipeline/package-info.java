/**
 * Pipelines: a YAML file of stages (import, pretrain, finetune, dann, ...) whose outputs feed each
 * other. This package parses the file, expands sweeps, resolves {@code ${stage}} references,
 * orders the stages and keys each stage's output by a hash of its settings and its inputs' keys;
 * it also holds the lock on a pipeline's output root. Running the stages is Spark's business:
 * {@code io.graft.pipeline.runner} in the {@code spark-jobs} module.
 */
package io.graft.pipeline;

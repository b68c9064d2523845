/**
 * Graft in Spark ML pipelines: {@link io.graft.ml.GraftFineTuner} (an Estimator that fine-tunes a
 * pretrained model on a DataFrame), {@link io.graft.ml.GraftModelTransformer} (the fitted model,
 * or any Graft model, as a Transformer) and {@code graft predict}.
 */
package io.graft.ml;

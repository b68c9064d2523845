/** Graft models as Spark ML pipeline stages: {@link io.graft.ml.GraftModelTransformer} and {@code graft predict}. */
package io.graft.ml;

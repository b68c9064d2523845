/**
 * Building blocks of the shared-trunk stages, multi-task and domain-adversarial training:
 * {@link io.graft.adapt.SharedTrunk} builds one DL4J {@code ComputationGraph} with a shared trunk
 * and one head per objective, and {@link io.graft.adapt.GradientReversal} is the gradient-reversal
 * layer that sets a domain classifier against the trunk. The layers serialise with the model's
 * JSON, so they reach Spark executors and {@code model.zip} like any DL4J layer. Spark-free, like
 * the rest of the {@code common} module.
 */
package io.graft.adapt;

/**
 * Model surgery for fine-tuning: {@link io.graft.surgery.Surgery} edits a pretrained DL4J
 * {@code MultiLayerNetwork} by layer name (a new head, added dense layers, bottleneck adapters) and
 * builds each stage's network with a frozen prefix and per-layer updaters.
 * {@link io.graft.surgery.AdapterLayer} is the residual adapter, which starts as the identity so
 * fine-tuning starts from the pretrained function. {@code Surgery} also loads models and looks up
 * their layers for the diagnostics and {@code graft inspect}. Spark-free.
 */
package io.graft.surgery;

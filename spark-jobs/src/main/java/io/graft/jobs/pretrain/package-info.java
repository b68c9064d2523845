/**
 * {@code graft pretrain}: {@link io.graft.jobs.pretrain.PretrainJob} trains a named architecture
 * on a Graft dataset, one round per epoch, either supervised or with a self-supervised objective
 * (contrastive or denoising reconstruction) whose minibatches are built on the executors, and
 * can score a linear probe on a layer's outputs between rounds.
 * {@link io.graft.jobs.pretrain.PretrainConfig} is its configuration. The job writes
 * {@code model.zip} (plain DL4J, updater included), {@code metrics.jsonl} and
 * {@code provenance.json}.
 */
package io.graft.jobs.pretrain;

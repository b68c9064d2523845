/**
 * {@code graft finetune}: {@link io.graft.jobs.finetune.FinetuneJob} loads a pretrained model,
 * performs surgery (new head, added layers, adapters) and trains it on a target dataset in stages,
 * each freezing a prefix of the layers and giving every trainable layer its own learning rate.
 * {@link io.graft.jobs.finetune.FinetuneConfig} is its configuration; a {@code strategy} preset
 * (scratch, feature extraction, full, two-stage, gradual unfreezing, discriminative rates,
 * adapters) expands into those stages. Every round is validated and checkpointed, and the test
 * set is scored once at the end.
 */
package io.graft.jobs.finetune;

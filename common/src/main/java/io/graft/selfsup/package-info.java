/**
 * Self-supervised pre-training objectives that train inside DL4J networks, so dl4j-spark and
 * Graft's own parameter averaging train them on executors like any supervised network:
 * {@link io.graft.selfsup.NtXentLoss} (SimCLR's contrastive loss over two augmented views per
 * example), {@link io.graft.selfsup.Corruption} (the masking and noise a denoising
 * autoencoder reconstructs through) and {@link io.graft.selfsup.Objective} (which objective a
 * pre-training job optimises, and its settings).
 */
package io.graft.selfsup;

/**
 * {@code graft dann}: domain-adversarial training from a labelled source domain to an unlabelled
 * target domain. {@link io.graft.jobs.adversarial.DannJob} trains a shared trunk with a label head
 * and, behind a gradient-reversal layer, a domain classifier, on Graft's own averaging;
 * {@link io.graft.jobs.adversarial.DannConfig} is its configuration. The job writes a plain DL4J
 * model for the target domain beside the full graph, its metrics and provenance.
 */
package io.graft.jobs.adversarial;

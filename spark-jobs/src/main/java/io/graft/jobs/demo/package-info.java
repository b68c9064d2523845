/**
 * {@code graft demo}: {@link io.graft.jobs.demo.DemoJob} runs the demo pipeline shipped in the jar
 * (fetch, import, pre-train on MNIST, fine-tune on Fashion-MNIST against scratch, DANN to UCI
 * digits, a verdict and a report) through the pipeline runner, then reloads the published
 * pre-trained model with plain DL4J and scores it on the raw test images. Rerunning it skips
 * every finished stage.
 */
package io.graft.jobs.demo;

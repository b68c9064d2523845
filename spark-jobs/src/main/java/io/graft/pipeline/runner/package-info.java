/**
 * Runs a planned pipeline ({@link io.graft.pipeline.PipelinePlan}) in one Spark driver:
 * {@link io.graft.pipeline.runner.PipelineRunner} takes the root's lock, skips, resumes or runs each
 * stage instance through its job's contract ({@link io.graft.jobs.Job}), writes done markers
 * atomically, publishes finished outputs and writes the run's summary.
 */
package io.graft.pipeline.runner;

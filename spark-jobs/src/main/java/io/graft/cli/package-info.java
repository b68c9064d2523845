/**
 * The {@code graft} command line (picocli): {@link io.graft.cli.GraftCli} is the entry point and
 * maps exit statuses (2 for refused input, 1 for any other failure). A job's subcommand holds the
 * job's own options ({@link io.graft.jobs.ConfigArgs} or the job's args class) and the
 * {@link io.graft.jobs.SparkOptions}, and launches the job through its
 * {@link io.graft.jobs.Job}, as the job's {@code main} and a pipeline stage do; the commands hold
 * no work of their own.
 */
package io.graft.cli;

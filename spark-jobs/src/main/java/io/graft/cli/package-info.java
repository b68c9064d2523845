/**
 * The {@code graft} command line (picocli): {@link io.graft.cli.GraftCli} is the entry point and
 * maps exit statuses (2 for refused input, 1 for any other failure), and each subcommand parses
 * its options into a job's config record and calls that job's {@code run}.
 * {@link io.graft.cli.SparkOptions} holds the Spark options every job command shares. The commands
 * only parse and dispatch; the work lives in the job packages, the engine and {@code common}.
 */
package io.graft.cli;

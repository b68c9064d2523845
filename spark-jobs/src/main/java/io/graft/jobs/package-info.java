/**
 * The job contract every Graft job follows, whoever runs it: the {@code graft} command line, a
 * pipeline stage or a {@code spark-submit --class} main. A {@link io.graft.jobs.Job} has a config
 * type, read from a YAML config ({@link io.graft.jobs.ConfigArgs}) or from command options (the
 * job's {@link io.graft.jobs.JobArgs}); {@code validate} checks it against the
 * {@link io.graft.jobs.JobEnv} it will run in before any Spark work, and {@code run} returns a
 * {@link io.graft.jobs.JobResult}. {@link io.graft.jobs.JobMain} is the {@code main} of every job
 * class, {@link io.graft.jobs.ExitStatus} the statuses they all exit with.
 */
package io.graft.jobs;

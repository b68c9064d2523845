package io.graft.jobs;

import io.graft.config.ConfigException;
import io.graft.spark.GraftKerberos;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;

/**
 * The {@code main} of every job class ({@code spark-submit --class io.graft.jobs.pretrain.PretrainJob
 * app.jar --config pretrain.yaml}): the job's options and the Spark options, parsed and run as
 * {@code graft NAME} would, with the same exit statuses and one-line errors.
 */
public final class JobMain {
  private JobMain() {}

  /** Parses {@code argv} for {@code job}, runs it and returns its exit status. */
  public static <C> int run(Job<C> job, String... argv) {
    JobArgs<C> args = job.newArgs();
    SparkOptions spark = new SparkOptions();
    CommandSpec spec = CommandSpec.create().name(job.name()).mixinStandardHelpOptions(true);
    spec.addMixin("options", CommandSpec.forAnnotatedObject(args));
    if (job.needsSpark()) {
      spec.addMixin("spark", CommandSpec.forAnnotatedObject(spark));
    }
    CommandLine cli = new CommandLine(spec);
    PrintWriter err = new PrintWriter(System.err, true);
    try {
      cli.parseArgs(argv);
    } catch (CommandLine.ParameterException e) {
      err.println("graft: error: " + e.getMessage());
      err.println("Run '" + job.name() + " --help' for usage.");
      return ExitStatus.BAD_INPUT;
    }
    if (cli.isUsageHelpRequested()) {
      cli.usage(System.out);
      return ExitStatus.OK;
    }
    try {
      if (job.needsSpark()) {
        GraftKerberos.login(spark.extra());
      }
      return job.launch(args, spark);
    } catch (Exception e) {
      return failure(e, err);
    }
  }

  /**
   * Reports a failed job: bad input (a {@link ConfigException} anywhere in the causes, as Spark
   * wraps driver-side exceptions) in one line with status 2, anything else with its stack trace
   * and status 1.
   */
  public static int failure(Throwable e, PrintWriter err) {
    ConfigException bad = configException(e);
    if (bad != null) {
      err.println("graft: error: " + bad.getMessage());
      err.flush();
      return ExitStatus.BAD_INPUT;
    }
    err.println("graft: failed: " + e);
    e.printStackTrace(err);
    err.flush();
    return ExitStatus.FAILED;
  }

  /** The config error inside {@code t}, if any. */
  public static ConfigException configException(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof ConfigException ce) {
        return ce;
      }
      if (c.getCause() == c) {
        break;
      }
    }
    return null;
  }
}

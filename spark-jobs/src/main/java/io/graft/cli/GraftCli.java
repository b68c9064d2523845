package io.graft.cli;

import io.graft.config.ConfigException;
import io.graft.jobs.ExitStatus;
import io.graft.jobs.JobMain;
import io.graft.jobs.SparkOptions;
import io.graft.spark.GraftKerberos;
import io.graft.store.Provenance;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code graft} command line. Each job's subcommand parses the job's options and launches it
 * ({@link io.graft.jobs.Job#launch}). Bad input (unknown key, missing path, wrong schema) exits with
 * status 2 and one line naming it; any other failure exits 1.
 */
@Command(name = "graft", mixinStandardHelpOptions = true, versionProvider = GraftCli.Version.class,
    description = "Transfer learning at cluster scale: DL4J networks trained by parameter averaging on Spark.",
    subcommands = {FetchDataCommand.class, ImportCommand.class, ImportModelCommand.class, PretrainCommand.class, FinetuneCommand.class, InspectCommand.class,
        DemoCommand.class, BenchFinetuneCommand.class, DannCommand.class, MultitaskCommand.class,
        DiagnosticsCommands.Divergence.class, DiagnosticsCommands.Probe.class, DiagnosticsCommands.Evaluate.class,
        DiagnosticsCommands.VerdictCommand.class, DiagnosticsCommands.Predict.class, DiagnosticsCommands.Report.class, PipelineCommand.class,
        BenchOverheadCommand.class, BenchCeilingCommand.class, BenchGrowthDataCommand.class, ExportImagesCommand.class,
        CommandLine.HelpCommand.class})
public final class GraftCli {
  public static final int EXIT_OK = ExitStatus.OK;
  public static final int EXIT_FAILED = ExitStatus.FAILED;
  public static final int EXIT_BAD_INPUT = ExitStatus.BAD_INPUT;
  /** {@code --fail-on-negative-transfer} and the verdict was negative. */
  public static final int EXIT_NEGATIVE_TRANSFER = ExitStatus.NEGATIVE_TRANSFER;
  /** {@code pipeline run}: another live run holds the pipeline root's lock; retry later. */
  public static final int EXIT_LOCK_HELD = ExitStatus.LOCK_HELD;

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the command line and returns its exit status (the real entry point, callable from tests). */
  public static int run(String... args) {
    CommandLine cli = commandLine();
    return cli.execute(args);
  }

  static CommandLine commandLine() {
    CommandLine cli = new CommandLine(new GraftCli());
    // a ConfigException from the credentials reaches the handler below, as one from a command would
    cli.setExecutionStrategy(parseResult -> {
      try {
        credentials(parseResult);
      } catch (ConfigException bad) {
        throw new CommandLine.ExecutionException(parseResult.commandSpec().commandLine(), bad.getMessage(), bad);
      }
      return new CommandLine.RunLast().execute(parseResult);
    });
    cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> JobMain.failure(e, commandLine.getErr()));
    cli.setParameterExceptionHandler((e, args) -> {
      PrintWriter err = e.getCommandLine().getErr();
      err.println("graft: error: " + e.getMessage());
      err.println("Run '" + e.getCommandLine().getCommandSpec().qualifiedName() + " --help' for usage.");
      err.flush();
      return EXIT_BAD_INPUT;
    });
    return cli;
  }

  /**
   * Kerberos credentials for the command about to run (a keytab login, or a refusal when a Kerberized
   * Hadoop has no ticket), before it touches any path. Commands without Spark options skip this.
   */
  private static void credentials(CommandLine.ParseResult parseResult) {
    CommandLine.ParseResult last = parseResult;
    while (last.hasSubcommand()) {
      last = last.subcommand();
    }
    if (last.isUsageHelpRequested() || last.isVersionHelpRequested()) {
      return;
    }
    for (CommandLine.Model.CommandSpec mixin : last.commandSpec().mixins().values()) {
      if (mixin.userObject() instanceof SparkOptions options) {
        GraftKerberos.login(options.extra());
      }
    }
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"graft " + Provenance.BuildInfo.version()
          + " (DL4J " + Provenance.BuildInfo.property("dl4j.version")
          + ", Spark " + Provenance.BuildInfo.property("spark.version") + ")"};
    }
  }
}

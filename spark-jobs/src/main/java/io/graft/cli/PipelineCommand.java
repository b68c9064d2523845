package io.graft.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.graft.jobs.SparkOptions;
import io.graft.pipeline.PipelineLock;
import io.graft.pipeline.PipelinePlan;
import io.graft.pipeline.PipelineSpec;
import io.graft.pipeline.runner.PipelineRunner;
import io.graft.store.Storage;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "pipeline", mixinStandardHelpOptions = true,
    description = {"Stage graphs from a YAML file: import, pretrain, finetune, multitask, dann, divergence, probe, evaluate,",
        "verdict, predict and report stages, each output keyed by its settings and its inputs' keys, so reruns skip finished",
        "work, resume interrupted stages and rerun what changed (docs/pipelines.md)."},
    subcommands = {PipelineCommand.Run.class, PipelineCommand.Plan.class, PipelineCommand.Status.class})
final class PipelineCommand {
  /** The pipeline file and what changes it on the command line. */
  static final class FileOptions {
    @Parameters(index = "0", paramLabel = "PIPELINE", description = "The pipeline YAML file.")
    Path file;

    @Option(names = "--root", paramLabel = "URI", description = "Output root (overrides the file's 'root').")
    String root;

    @Option(names = "--set", paramLabel = "STAGE.KEY=VALUE",
        description = "Override a stage setting, e.g. --set finetune.training.epochs=2 or --set mnist.limit=1000; repeatable.")
    List<String> overrides = new ArrayList<>();

    /**
     * Reads and plans the file (one-line errors for a bad file) and returns its runner, on the
     * storage of the session {@code spark} describes (so a bare path means what it will mean to the stages).
     */
    PipelineRunner runner(SparkOptions spark) {
      PipelineSpec spec = PipelineSpec.read(file).withRoot(root).withOverrides(overrides);
      Storage storage = spark.storage("graft pipeline " + spec.name());
      return new PipelineRunner(PipelineRunner.plan(spec, storage), storage);
    }
  }

  @Command(name = "run", mixinStandardHelpOptions = true,
      description = {"Run the pipeline: skip stages whose output exists with the same key, resume interrupted ones from their",
          "checkpoint, run the rest. Exit: 0 done, 1 a stage failed, 2 bad pipeline file, 3 negative transfer, 4 lock held."})
  static final class Run implements Callable<Integer> {
    @Mixin
    FileOptions pipeline;

    @Option(names = "--summary", paramLabel = "FILE", description = "Also write the run summary (JSON) here.")
    String summary;

    @Option(names = "--lock-stale-after", paramLabel = "SECONDS", defaultValue = "600",
        description = "Take over a lock whose holder has not renewed it for this long (default: ${DEFAULT-VALUE}).")
    long staleAfter;

    @Mixin
    SparkOptions spark;

    @Override
    public Integer call() throws Exception {
      PipelineRunner runner = pipeline.runner(spark);
      PipelinePlan plan = runner.plan();
      PipelineRunner.Options options = PipelineRunner.Options.defaults(() -> spark.session("graft pipeline " + plan.spec().name()),
          line -> System.out.println("[pipeline] " + line)).withStaleAfter(Duration.ofSeconds(staleAfter));
      PipelineRunner.Result result;
      try {
        result = runner.run(options);
      } catch (PipelineLock.HeldException e) {
        System.err.println("graft: lock held: " + e.getMessage());
        return GraftCli.EXIT_LOCK_HELD;
      }
      printRun(result.summary(), System.out);
      System.out.println("summary=" + result.summaryPath() + " status=" + result.status());
      if (summary != null) {
        runner.storage().writeString(runner.storage().path(summary), result.summary().toPrettyString());
      }
      return result.exitCode();
    }
  }

  @Command(name = "plan", mixinStandardHelpOptions = true,
      description = "Show what 'run' would do with each stage and why (nothing runs, nothing is written).")
  static final class Plan implements Callable<Integer> {
    @Mixin
    FileOptions pipeline;

    @Mixin
    SparkOptions spark;

    @Override
    public Integer call() throws Exception {
      PipelineRunner runner = pipeline.runner(spark);
      runner.validate();
      List<String[]> rows = new ArrayList<>();
      rows.add(new String[] {"stage", "action", "key", "why"});
      for (PipelineRunner.Decision d : runner.decide()) {
        rows.add(new String[] {d.instance().name(), d.action().toString(), d.instance().shortKey(), d.reason()});
      }
      header(runner.plan());
      table(rows, System.out);
      return GraftCli.EXIT_OK;
    }
  }

  @Command(name = "status", mixinStandardHelpOptions = true,
      description = "Each stage's state (done, partial, pending, stale), timings and key metrics, the lock and the last run.")
  static final class Status implements Callable<Integer> {
    @Mixin
    FileOptions pipeline;

    @Mixin
    SparkOptions spark;

    @Override
    public Integer call() throws Exception {
      PipelineRunner runner = pipeline.runner(spark);
      List<String[]> rows = new ArrayList<>();
      rows.add(new String[] {"stage", "state", "finished", "seconds", "metrics"});
      for (PipelineRunner.Decision d : runner.decide()) {
        String state = switch (d.action()) {
          case SKIP -> d.marker().path("outcome").asText("done");
          case RESUME -> "partial: " + d.reason();
          case RUN -> d.reason().equals("never run") ? "pending" : "stale: " + d.reason();
        };
        JsonNode m = d.marker();
        rows.add(new String[] {d.instance().name(), state, m == null ? "" : m.path("finished").asText(),
            m == null ? "" : String.format("%.1f", m.path("seconds").asDouble()), m == null ? "" : shortMetrics(m.path("metrics"))});
      }
      header(runner.plan());
      table(rows, System.out);
      var holder = PipelineLock.holder(runner.storage(), runner.storage().path(runner.plan().stateDir() + "/lock"));
      System.out.println("lock: " + holder.map(PipelineLock.Holder::describe).orElse("free"));
      JsonNode last = runner.latestRun();
      System.out.println("last run: " + (last == null ? "none"
          : last.path("runId").asText() + " " + last.path("status").asText() + " in " + last.path("seconds").asText() + " s"));
      return GraftCli.EXIT_OK;
    }
  }

  private static void header(PipelinePlan plan) {
    System.out.println("pipeline " + plan.spec().name() + ", root " + plan.root());
  }

  static void printRun(JsonNode summary, PrintStream out) {
    List<String[]> rows = new ArrayList<>();
    rows.add(new String[] {"stage", "action", "outcome", "seconds", "metrics"});
    for (JsonNode s : summary.path("stages")) {
      rows.add(new String[] {s.path("instance").asText(), s.path("action").asText(), s.path("outcome").asText(),
          String.format("%.1f", s.path("seconds").asDouble()), shortMetrics(s.path("metrics"))});
    }
    table(rows, out);
  }

  private static String shortMetrics(JsonNode metrics) {
    List<String> parts = new ArrayList<>();
    metrics.fields().forEachRemaining(e -> {
      String k = e.getKey();
      if (parts.size() < 4 && (k.contains("accuracy") || k.contains("aDistance") || k.equals("verdict") || k.equals("a_distance"))) {
        parts.add(k + "=" + (e.getValue().isNumber() ? String.format("%.4f", e.getValue().asDouble()) : e.getValue().asText()));
      }
    });
    return String.join(" ", parts);
  }

  static void table(List<String[]> rows, PrintStream out) {
    int cols = rows.get(0).length;
    int[] width = new int[cols];
    for (String[] r : rows) {
      for (int c = 0; c < cols; c++) {
        width[c] = Math.max(width[c], r[c].length());
      }
    }
    for (String[] r : rows) {
      StringBuilder sb = new StringBuilder();
      for (int c = 0; c < cols; c++) {
        sb.append(c == cols - 1 ? r[c] : String.format("%-" + (width[c] + 2) + "s", r[c]));
      }
      out.println(sb.toString().stripTrailing());
    }
  }

  private PipelineCommand() {}
}

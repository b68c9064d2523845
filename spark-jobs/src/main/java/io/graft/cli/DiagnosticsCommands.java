package io.graft.cli;

import io.graft.diagnostics.DivergenceArgs;
import io.graft.diagnostics.DivergenceJob;
import io.graft.diagnostics.EvaluateArgs;
import io.graft.diagnostics.EvaluateJob;
import io.graft.diagnostics.ProbeArgs;
import io.graft.diagnostics.ProbeJob;
import io.graft.diagnostics.ReportArgs;
import io.graft.diagnostics.ReportJob;
import io.graft.diagnostics.VerdictArgs;
import io.graft.diagnostics.VerdictJob;
import io.graft.jobs.SparkOptions;
import io.graft.ml.PredictArgs;
import io.graft.ml.PredictJob;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** The diagnostics commands: divergence, probe, evaluate, verdict, predict and report. */
final class DiagnosticsCommands {
  private DiagnosticsCommands() {}

  @Command(name = "divergence", mixinStandardHelpOptions = true,
      description = {"Proxy A-distance between a source and a target dataset (0: indistinguishable, 2: fully separable), with a",
          "bootstrap 95% interval; on raw inputs, or on one layer's features of a model (--model, --layer)."})
  static final class Divergence implements Callable<Integer> {
    @Mixin
    DivergenceArgs options;
    @Mixin
    SparkOptions spark;

    @Override
    public Integer call() throws Exception {
      return DivergenceJob.JOB.launch(options, spark);
    }
  }

  @Command(name = "probe", mixinStandardHelpOptions = true,
      description = {"Layer-wise transferability: a linear probe on each layer's frozen features scores target accuracy per layer;",
          "prints a recommended freeze depth and discriminative alpha with its reasoning (--write-config: as a fine-tune config)."})
  static final class Probe implements Callable<Integer> {
    @Mixin
    ProbeArgs options;
    @Mixin
    SparkOptions spark;

    @Override
    public Integer call() throws Exception {
      return ProbeJob.JOB.launch(options, spark);
    }
  }

  @Command(name = "evaluate", mixinStandardHelpOptions = true,
      description = "Accuracy, per-class precision / recall / F1 and the confusion matrix of a model on a labelled dataset.")
  static final class Evaluate implements Callable<Integer> {
    @Mixin
    EvaluateArgs options;
    @Mixin
    SparkOptions spark;

    @Override
    public Integer call() throws Exception {
      return EvaluateJob.JOB.launch(options, spark);
    }
  }

  @Command(name = "verdict", mixinStandardHelpOptions = true,
      description = {"Negative-transfer verdict: compares the runs' final metric (one run per seed) with baseline runs (scratch or",
          "source-only) by Welch's t-test and Hedges' g; positive, neutral or negative. Exit status 3 on negative with",
          "--fail-on-negative-transfer."})
  static final class VerdictCommand implements Callable<Integer> {
    @Mixin
    VerdictArgs options;

    @Override
    public Integer call() throws Exception {
      return VerdictJob.JOB.launch(options, null);
    }
  }

  @Command(name = "predict", mixinStandardHelpOptions = true,
      description = {"Adds prediction, probability (and with --embedding-layer, embedding) columns to a Parquet dataset with a model;",
          "the same Spark ML Transformer (io.graft.ml.GraftModelTransformer) a user's own pipeline can hold."})
  static final class Predict implements Callable<Integer> {
    @Mixin
    PredictArgs options;
    @Mixin
    SparkOptions spark;

    @Override
    public Integer call() throws Exception {
      return PredictJob.JOB.launch(options, spark);
    }
  }

  @Command(name = "report", mixinStandardHelpOptions = true,
      description = {"One self-contained HTML report (charts embedded) from run folders and diagnostics JSON files: loss and",
          "accuracy per round, strategy comparison, probes, A-distances, verdicts and provenance."})
  static final class Report implements Callable<Integer> {
    @Mixin
    ReportArgs options;

    @Override
    public Integer call() throws Exception {
      return ReportJob.JOB.launch(options, null);
    }
  }
}

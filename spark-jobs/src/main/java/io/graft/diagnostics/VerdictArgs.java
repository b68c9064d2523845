package io.graft.diagnostics;

import io.graft.config.Input;
import io.graft.jobs.JobArgs;
import java.util.List;
import picocli.CommandLine.Option;

/** The options of {@code graft verdict} (a pipeline stage's {@code args}). */
public final class VerdictArgs implements JobArgs<VerdictJob.Gate> {
  @Option(names = "--runs", required = true, split = ",", paramLabel = "DIR", description = "Transfer runs (one per seed).")
  @Input List<String> runs;
  @Option(names = "--baseline", required = true, split = ",", paramLabel = "DIR", description = "Baseline runs (one per seed).")
  @Input List<String> baseline;
  @Option(names = "--metric", description = "Provenance metric (default: the job's: test_accuracy, target_accuracy, mean_accuracy).")
  String metric;
  @Option(names = "--significance", defaultValue = "0.05", description = "Significance level (default: ${DEFAULT-VALUE}).")
  double significance;
  @Option(names = "--min-effect", defaultValue = "0.0", description = "Smallest difference that counts, in the metric's units.")
  double minEffect;
  @Option(names = "--label", description = "Name of this comparison in the report.")
  String label;
  @Option(names = "--record", description = "Write the verdict into each run's provenance.json.")
  boolean record;
  @Option(names = "--out", paramLabel = "FILE", description = "Write the verdict as JSON (for graft report).")
  String out;
  @Option(names = "--fail-on-negative-transfer", description = "Exit with status 3 when the verdict is negative.")
  boolean failOnNegative;

  @Override
  public VerdictJob.Gate config() {
    return new VerdictJob.Gate(new VerdictJob.Request(runs, baseline, metric, significance, minEffect, label, record, out), failOnNegative);
  }
}

package io.graft.diagnostics;

import io.graft.config.Input;
import io.graft.jobs.JobArgs;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** The options of {@code graft probe} (a pipeline stage's {@code args}). */
public final class ProbeArgs implements JobArgs<ProbeJob.Request> {
  @Option(names = "--model", required = true, paramLabel = "MODEL")
  @Input String model;
  @Option(names = "--target", required = true, paramLabel = "URI", description = "Target training dataset (probes train on a labelled subset).")
  @Input String target;
  @Option(names = "--target-test", paramLabel = "URI", description = "Target test dataset (default: hold out 30%% of the subset).")
  @Input String test;
  @Option(names = "--labels-per-class", defaultValue = "100", description = "Labelled rows per class for the probes (default: ${DEFAULT-VALUE}).")
  int labelsPerClass;
  @Option(names = "--max-test-rows", defaultValue = "2000")
  long maxTestRows;
  @Option(names = "--layers", split = ",", description = "Layers to probe (default: every layer below the output).")
  List<String> layers = new ArrayList<>();
  @Option(names = "--tolerance", defaultValue = "0.01", description = "Accuracy within which a layer is as good as the best (default: ${DEFAULT-VALUE}).")
  double tolerance;
  @Option(names = "--grid", split = ",", description = "Regularisation grid (default: 1e-3,1e-2,1e-1).")
  double[] grid;
  @Option(names = "--max-iter", defaultValue = "100")
  int maxIter;
  @Option(names = "--seed", defaultValue = "42")
  long seed;
  @Option(names = "--out", paramLabel = "FILE", description = "Write the probes as JSON (for graft report).")
  String out;
  @Option(names = "--write-config", paramLabel = "FILE", description = "Write the recommendation as a graft finetune config.")
  String writeConfig;

  @Override
  public ProbeJob.Request config() {
    return new ProbeJob.Request(model, target, test, labelsPerClass, maxTestRows, layers, tolerance,
        grid == null ? new double[] {1e-3, 1e-2, 1e-1} : grid, maxIter, seed, out, writeConfig);
  }
}

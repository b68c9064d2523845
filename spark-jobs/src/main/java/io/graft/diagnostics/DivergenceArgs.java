package io.graft.diagnostics;

import io.graft.config.Input;
import io.graft.jobs.JobArgs;
import picocli.CommandLine.Option;

/** The options of {@code graft divergence} (a pipeline stage's {@code args}). */
public final class DivergenceArgs implements JobArgs<DivergenceJob.Request> {
  @Option(names = "--source", required = true, paramLabel = "URI", description = "Source dataset (Graft Parquet).")
  @Input String source;
  @Option(names = "--target", required = true, paramLabel = "URI", description = "Target dataset (Graft Parquet).")
  @Input String target;
  @Option(names = "--model", paramLabel = "MODEL", description = "Compare a model's features instead of raw inputs.")
  @Input String model;
  @Option(names = "--layer", paramLabel = "NAME", description = "The model's layer (default: the last below the output).")
  String layer;
  @Option(names = "--max-rows", defaultValue = "5000", description = "Rows per domain, drawn at random (default: ${DEFAULT-VALUE}).")
  long maxRows;
  @Option(names = "--grid", split = ",", description = "Regularisation grid (default: 1e-4,1e-3,1e-2,1e-1,1).")
  double[] grid;
  @Option(names = "--bootstrap", defaultValue = "1000", description = "Bootstrap draws for the interval (default: ${DEFAULT-VALUE}).")
  int bootstrap;
  @Option(names = "--seed", defaultValue = "42")
  long seed;
  @Option(names = "--label", description = "Name of this measurement in the report.")
  String label;
  @Option(names = "--out", paramLabel = "FILE", description = "Write the result as JSON (for graft report).")
  String out;

  @Override
  public DivergenceJob.Request config() {
    ProxyADistance.Options opts = new ProxyADistance.Options(grid == null ? ProxyADistance.DEFAULT_GRID : grid, bootstrap, 100, seed);
    return new DivergenceJob.Request(source, target, model, layer, maxRows, label, out, opts);
  }
}

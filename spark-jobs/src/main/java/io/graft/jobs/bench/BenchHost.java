package io.graft.jobs.bench;

import io.graft.model.GraftKernels;
import io.graft.model.OneDnn;
import io.graft.platform.Host;

/**
 * The host line every benchmark prints: CPU model, vector extensions, cores, ND4J build, oneDNN on or
 * off, and how Graft's kernels run their element-wise passes.
 */
final class BenchHost {
  private BenchHost() {}

  static String line() {
    return Host.describe() + "; " + OneDnn.describe() + "; Graft's kernels on " + GraftKernels.describe();
  }
}

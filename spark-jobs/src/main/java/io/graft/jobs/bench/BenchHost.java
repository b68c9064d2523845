package io.graft.jobs.bench;

import io.graft.model.GraftKernels;
import io.graft.model.OneDnn;
import io.graft.platform.Host;

/**
 * The host line every benchmark prints: CPU model, vector extensions, cores, ND4J build, oneDNN on or
 * off (and the instruction set oneDNN and OpenBLAS are held to, where the environment caps them), and
 * how Graft's kernels run their element-wise passes.
 */
final class BenchHost {
  private BenchHost() {}

  static String line() {
    String blas = System.getenv("OPENBLAS_CORETYPE");
    return Host.describe() + "; " + OneDnn.describe() + (blas == null || blas.isBlank() ? "" : ", OpenBLAS kernels for " + blas.trim())
        + "; Graft's kernels on " + GraftKernels.describe();
  }
}

package io.graft.model;

import io.graft.config.ConfigException;
import java.util.Locale;
import org.deeplearning4j.nn.layers.mkldnn.BaseMKLDNNHelper;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.nativeblas.NativeOpsHolder;

/**
 * Turns on ND4J's oneDNN kernels for DL4J's convolution, pooling, batch-norm and LRN layers.
 *
 * <p>Graft ships nd4j-native's {@code linux-x86_64-onednn} build: generic x86-64 code for ND4J's
 * own ops (it runs on any x86-64 CPU) with oneDNN inside, which picks SSE4.1 … AVX-512 kernels at
 * run time. DL4J 1.0.0-M2.1 never uses them out of the box, for two reasons measured in
 * {@code docs/benchmarks/performance-history.md}: its layer helpers are off unless the system property
 * {@value #HELPERS_DISABLE} is {@code false} (the default is {@code true}), and its oneDNN check
 * looks up a class ND4J M2.1 renamed (answered by {@link org.nd4j.nativeblas.Nd4jCpu}). With both
 * fixed, LeNet trains about 3x faster on this machine kind. On an ND4J build without oneDNN the
 * helpers only add overhead (they run libnd4j's generic ops), so they stay off there.
 *
 * <p>The property is read each time a layer is built, so this must run in every JVM before its
 * networks are made: {@code GraftSpark} calls it in the driver, {@code GraftPlugin} in each
 * executor. The Spark setting {@value #SETTING} chooses: {@code auto} (default: on where the build
 * has oneDNN), {@code on} (refuse to run without it), {@code off} (DL4J's built-in layers).
 */
public final class OneDnn {
  /** DL4J's switch for all layer helpers (oneDNN on CPU, cuDNN on CUDA); read at layer construction. */
  public static final String HELPERS_DISABLE = "org.eclipse.deeplearning4j.helpers.disable";
  /** The Spark configuration key Graft reads, on the driver and on every executor. */
  public static final String SETTING = "spark.graft.onednn";

  /** What {@link #configure} decided, for the log. */
  public record Status(boolean on, String reason) {}

  private OneDnn() {}

  /**
   * Sets DL4J's helper switch for this JVM.
   *
   * @param mode {@code auto}, {@code on} or {@code off} (the value of {@value #SETTING})
   * @throws ConfigException for another mode, or {@code on} where the build has no oneDNN
   */
  public static synchronized Status configure(String mode) {
    String m = mode == null ? "auto" : mode.trim().toLowerCase(Locale.ROOT);
    if (!m.equals("auto") && !m.equals("on") && !m.equals("off")) {
      throw new ConfigException(SETTING + " must be auto, on or off, cannot be: " + mode);
    }
    if (m.equals("off")) {
      System.setProperty(HELPERS_DISABLE, "true");
      return new Status(false, "oneDNN off (" + SETTING + "=off): DL4J's built-in layers");
    }
    String build = build();
    if (build != null) {
      if (m.equals("on")) {
        throw new ConfigException(SETTING + "=on but " + build);
      }
      System.setProperty(HELPERS_DISABLE, "true");
      return new Status(false, build + ": DL4J's built-in layers");
    }
    System.setProperty(HELPERS_DISABLE, "false");
    if (!BaseMKLDNNHelper.mklDnnEnabled()) {
      System.setProperty(HELPERS_DISABLE, "true");
      if (m.equals("on")) {
        throw new ConfigException(SETTING + "=on but DL4J's oneDNN check fails on this classpath (is graft-common's "
            + "org.nd4j.nativeblas.Nd4jCpu shadowed?)");
      }
      return new Status(false, "DL4J's oneDNN check fails on this classpath: DL4J's built-in layers");
    }
    return new Status(true, "oneDNN kernels for convolution, pooling and batch norm (ND4J CPU level " + cpuLevel() + ")");
  }

  /**
   * This JVM's ND4J in one line for benchmark output: backend, whether the build has oneDNN,
   * whether DL4J's oneDNN layers are on, and the CPU level ND4J's own kernels run at.
   */
  public static String describe() {
    String backend = Nd4j.getExecutioner().getEnvironmentInformation().getProperty("backend", "?");
    String build = build();
    boolean on = "false".equals(System.getProperty(HELPERS_DISABLE));
    return "ND4J " + backend + " backend, " + (build == null ? "build with oneDNN" : "build without oneDNN") + ", oneDNN layers "
        + (on ? "on" : "off") + (backend.equalsIgnoreCase("CPU") ? ", kernels " + cpuLevel() : "") + isaLimit();
  }

  /**
   * oneDNN's own instruction-set cap where the environment sets one ({@code DNNL_MAX_CPU_ISA}, or
   * {@code ONEDNN_MAX_CPU_ISA}): oneDNN then picks its kernels as on a CPU without the newer extensions,
   * which is how a benchmark shows an AVX2 CPU's kernels on an AVX-512 host.
   */
  private static String isaLimit() {
    String cap = System.getenv("DNNL_MAX_CPU_ISA");
    if (cap == null || cap.isBlank()) {
      cap = System.getenv("ONEDNN_MAX_CPU_ISA");
    }
    return cap == null || cap.isBlank() ? "" : ", oneDNN limited to " + cap.trim();
  }

  /** Null where the loaded ND4J build has oneDNN, else why not. */
  private static String build() {
    String backend = Nd4j.getExecutioner().getEnvironmentInformation().getProperty("backend", "?");
    if (!backend.equalsIgnoreCase("CPU")) {
      return "the ND4J backend is " + backend + ", not CPU";
    }
    String info = NativeOpsHolder.getInstance().getDeviceNativeOps().buildInfo();
    return info != null && info.contains("HAVE_ONEDNN") ? null
        : "this nd4j-native build has no oneDNN (Graft ships the linux-x86_64-onednn classifier)";
  }

  private static String cpuLevel() {
    int level = NativeOpsHolder.getInstance().getDeviceNativeOps().optimalLevel();
    return switch (level) {
      case 3 -> "AVX-512";
      case 2 -> "AVX2";
      default -> "generic x86-64";
    };
  }
}

package org.nd4j.nativeblas;

import java.lang.reflect.Method;

/**
 * Restores the class DL4J 1.0.0-M2.1 looks for before it uses oneDNN.
 *
 * <p>{@code org.deeplearning4j.nn.layers.mkldnn.BaseMKLDNNHelper.mklDnnEnabled()} asks, by
 * reflection, for {@code org.nd4j.nativeblas.Nd4jCpu$Environment.getInstance().isUseMKLDNN()}.
 * ND4J M2.1 moved that class to {@code org.nd4j.linalg.cpu.nativecpu.bindings.Nd4jCpu} and renamed
 * the method {@code isUseONEDNN()}: the lookup fails, DL4J records the failure and every
 * convolution, pooling and batch-norm layer runs its slow built-in path even on an ND4J build
 * with oneDNN. This class answers that lookup from the real one. Nothing else refers to it
 * (checked over every DL4J / ND4J jar Graft ships); see {@link io.graft.model.OneDnn}.
 */
public final class Nd4jCpu {
  /** Where ND4J M2.1 keeps it (in nd4j-native only, so looked up by name: the CUDA build compiles too). */
  private static final String REAL = "org.nd4j.linalg.cpu.nativecpu.bindings.Nd4jCpu$Environment";

  private Nd4jCpu() {}

  /** The one method DL4J calls, answered by ND4J M2.1's native environment. */
  public static final class Environment {
    private static final Environment INSTANCE = new Environment();

    private Environment() {}

    public static Environment getInstance() {
      return INSTANCE;
    }

    /** ND4J's own answer; false where the CPU backend is not loaded (the CUDA build never asks). */
    public boolean isUseMKLDNN() {
      try {
        return Real.IS_USE_ONEDNN != null && (Boolean) Real.IS_USE_ONEDNN.invoke(Real.INSTANCE);
      } catch (ReflectiveOperationException | LinkageError e) {
        return false;
      }
    }
  }

  /** The real environment, looked up once (DL4J asks on every helper check). */
  private static final class Real {
    static final Object INSTANCE;
    static final Method IS_USE_ONEDNN;

    static {
      Object instance = null;
      Method method = null;
      try {
        Class<?> env = Class.forName(REAL);
        instance = env.getMethod("getInstance").invoke(null);
        method = env.getMethod("isUseONEDNN");
      } catch (ReflectiveOperationException | LinkageError e) {
        // not the CPU backend: isUseMKLDNN answers false
      }
      INSTANCE = instance;
      IS_USE_ONEDNN = method;
    }
  }
}

package io.graft.model;

import java.util.concurrent.atomic.LongAdder;

/**
 * Wall time spent inside Graft's kernels, by kind, for benchmarks that break a training step down.
 *
 * <p>Off unless the JVM runs with {@code -D}{@value #PROPERTY}{@code =true}; then every convolution
 * (forward and backward, through DL4J's oneDNN helper), batch-norm, ReLU and max-pooling pass of a network with
 * Graft's kernels adds its duration here. A sampling profiler cannot give this split once part of the
 * step runs as Java code and part in native code: JFR samples a thread in Java code and in native code
 * at different rates, and caps the threads it samples per period in each state.
 */
public final class KernelClock {
  /** System property that switches the clock on. */
  public static final String PROPERTY = "graft.kernels.clock";
  static final boolean ON = Boolean.getBoolean(PROPERTY);

  /** What a timed pass was. */
  public enum Kind { CONVOLUTION, BATCH_NORM, RELU, POOLING }

  private static final LongAdder[] NANOS = {new LongAdder(), new LongAdder(), new LongAdder(), new LongAdder()};

  private KernelClock() {}

  /** The start of a pass (0 when the clock is off). */
  static long start() {
    return ON ? System.nanoTime() : 0L;
  }

  /** Adds the time since {@code start} to {@code kind}. */
  static void stop(Kind kind, long start) {
    if (ON) {
      NANOS[kind.ordinal()].add(System.nanoTime() - start);
    }
  }

  public static boolean on() {
    return ON;
  }

  /** Nanoseconds per kind (indexed by {@link Kind#ordinal}) since the last {@link #reset}. */
  public static long[] nanos() {
    long[] out = new long[NANOS.length];
    for (int i = 0; i < out.length; i++) {
      out[i] = NANOS[i].sum();
    }
    return out;
  }

  public static void reset() {
    for (LongAdder a : NANOS) {
      a.reset();
    }
  }
}

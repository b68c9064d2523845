package io.graft.store;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import org.apache.hadoop.fs.Path;

/**
 * A crash point for the tests of what a crash leaves behind, set only by them through the
 * environment: {@code GRAFT_FAILPOINT=halt-writing:SUFFIX} halts the JVM, as {@code kill -9}
 * would (no shutdown hooks, no flush, no cleanup), once {@value #HALT_AFTER_BYTES} bytes of a
 * file whose path ends with SUFFIX have been written through {@link Storage}. Unset, it costs one
 * string comparison per file written.
 */
final class Failpoints {
  static final String VARIABLE = "GRAFT_FAILPOINT";
  static final int HALT_AFTER_BYTES = 64 * 1024;
  private static final String HALT_WRITING = "halt-writing:";

  private Failpoints() {}

  /** {@code out}, or a stream that halts the JVM part-way through when the failpoint names {@code target}. */
  static OutputStream wrap(Path target, OutputStream out) {
    String spec = System.getenv(VARIABLE);
    if (spec == null || !spec.startsWith(HALT_WRITING) || !target.toString().endsWith(spec.substring(HALT_WRITING.length()))) {
      return out;
    }
    return new FilterOutputStream(out) {
      private long written;

      @Override
      public void write(int b) throws IOException {
        out.write(b);
        count(1);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
        count(len);
      }

      private void count(int n) throws IOException {
        written += n;
        if (written >= HALT_AFTER_BYTES) {
          out.flush();
          System.err.println("graft: failpoint " + spec + ": halting the JVM after " + written + " bytes of " + target);
          Runtime.getRuntime().halt(137);
        }
      }
    };
  }
}

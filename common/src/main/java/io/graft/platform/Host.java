package io.graft.platform;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * This JVM's host in one line: CPU model, the widest vector extensions it has, and the cores the
 * JVM sees, e.g. {@code "Intel(R) Xeon(R) Processor, AVX-512 (avx512f avx2 fma), 2 cores"}. Hosts of
 * one cloud machine type differ (AVX2 or AVX-512), so every benchmark figure carries this.
 */
public final class Host {
  private Host() {}

  public static String describe() {
    String model = "unknown CPU";
    Set<String> flags = new TreeSet<>();
    try {
      List<String> lines = Files.readAllLines(Path.of("/proc/cpuinfo"));
      for (String line : lines) {
        if (line.startsWith("model name") && model.startsWith("unknown")) {
          model = line.substring(line.indexOf(':') + 1).trim();
        } else if (line.startsWith("flags") && flags.isEmpty()) {
          for (String f : line.substring(line.indexOf(':') + 1).trim().split("\\s+")) {
            if (f.equals("avx2") || f.equals("fma") || f.equals("avx512f") || f.equals("avx512_bf16") || f.equals("amx_tile")) {
              flags.add(f);
            }
          }
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux: model and flags unknown
    }
    String level = flags.contains("avx512f") ? "AVX-512" : flags.contains("avx2") ? "AVX2" : flags.isEmpty() ? "vector extensions unknown" : "no AVX2";
    return model + ", " + level + (flags.isEmpty() ? "" : " (" + String.join(" ", flags) + ")") + ", "
        + Runtime.getRuntime().availableProcessors() + " cores";
  }
}

package io.graft.cluster;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs the deploy scripts and graft-submit as a user would, from the repository root, for the cluster tests. */
final class Commands {
  static final Path ROOT = Path.of("").toAbsolutePath().getParent();

  private Commands() {}

  record Result(int exit, String output) {}

  /** A command running in the background, its output going to {@code log}. */
  record Running(Process process, Path log, String[] command) {
    /** Waits until the output has a line containing {@code text}. */
    void await(String text, int timeoutSeconds) throws Exception {
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
      while (System.nanoTime() < end) {
        if (Files.readString(log).contains(text)) {
          return;
        }
        if (!process.isAlive()) {
          throw new AssertionError("ended (" + process.exitValue() + ") before printing '" + text + "':\n" + tail(Files.readString(log)));
        }
        Thread.sleep(100);
      }
      process.destroyForcibly();
      throw new AssertionError("no '" + text + "' within " + timeoutSeconds + " s:\n" + tail(Files.readString(log)));
    }

    Result finish(int timeoutSeconds) throws Exception {
      if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new AssertionError(String.join(" ", command) + " timed out after " + timeoutSeconds + " s:\n" + tail(Files.readString(log)));
      }
      return new Result(process.exitValue(), tail(Files.readString(log)));
    }

    /** Everything the command printed so far, INFO lines included. */
    String fullOutput() throws IOException {
      return Files.readString(log);
    }
  }

  /**
   * The JVM options graft and graft-submit give their drivers and executors here: C1 only. Each command in these
   * tests is a JVM that lives a minute, beside two or three others on 2 cores, and C2's compiler threads took more
   * CPU than they gave back (a 3-round pretrain on the 2-worker standalone cluster: 73 s with the default JIT,
   * 44 s with this, same losses and accuracy). The arithmetic is ND4J's, compiled ahead of time either way.
   */
  static final String JAVA_OPTS = "-XX:TieredStopAtLevel=1";

  /** Starts {@code command} in the repository root with {@code env} added, its output in a file under {@code logDir}. */
  static Running start(Path logDir, Map<String, String> env, String... command) throws Exception {
    Path log = Files.createTempFile(logDir, "cmd", ".log");
    ProcessBuilder pb = new ProcessBuilder(command).directory(ROOT.toFile()).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("GRAFT_JAVA_OPTS", JAVA_OPTS);
    pb.environment().putAll(env);
    return new Running(pb.start(), log, command);
  }

  static Result run(Path logDir, int timeoutSeconds, Map<String, String> env, String... command) throws Exception {
    return start(logDir, env, command).finish(timeoutSeconds);
  }

  /** The last 60 lines that are not INFO (what a failed assertion shows). */
  static String tail(String s) {
    List<String> kept = s.lines().filter(l -> !l.contains(" INFO ")).toList();
    return String.join("\n", kept.subList(Math.max(0, kept.size() - 60), kept.size()));
  }

  /** The executor logs ({@code stderr} files) under {@code dir} in which GraftPlugin says it switched oneDNN on. */
  static List<Path> executorLogsWithGraftPlugin(Path dir) throws IOException {
    try (var files = Files.walk(dir)) {
      List<Path> found = new ArrayList<>();
      for (Path stderr : files.filter(f -> f.getFileName().toString().equals("stderr")).toList()) {
        if (Files.readString(stderr).matches("(?s).*Graft executor \\d+: oneDNN kernels for convolution.*")) {
          found.add(stderr);
        }
      }
      return found;
    }
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** The first of {@code n} consecutive ports that are free now (daemons that take a base port and the ones after it). */
  static int freePortBlock(int n) throws IOException {
    for (int attempt = 0; attempt < 200; attempt++) {
      int base = freePort();
      if (base + n > 65535) {
        continue;
      }
      boolean free = true;
      for (int p = base + 1; p < base + n && free; p++) {
        free = isFree(p);
      }
      if (free) {
        return base;
      }
    }
    throw new IOException("no " + n + " consecutive free ports");
  }

  private static boolean isFree(int port) {
    try (ServerSocket s = new ServerSocket(port)) {
      return s.isBound();
    } catch (IOException taken) {
      return false;
    }
  }
}

package io.graft.jobs.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.graft.cli.GraftCli;
import io.graft.model.OneDnn;
import io.graft.testing.SparkTests;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The ceiling benchmark on a few real MNIST rows: both layer implementations, the head, GFLOP/s from the counted FLOPs. */
class CeilingBenchmarkTest {
  @TempDir Path work;

  @Test
  void measuresLenetEachWayAndTheHeadAgainstTheGemmPeak() throws Exception {
    Path report = work.resolve("ceiling.md");
    CeilingBenchmark.Result r = CeilingBenchmark.run(new CeilingBenchmark.Spec(SparkTests.mnistTrain(), 256, List.of(64), List.of(128), 0.3,
        256, report), SparkTests.spark(), System.out::println);
    assertThat(r.peakGflops()).isPositive().isGreaterThanOrEqualTo(r.medianGemmGflops());
    assertThat(r.lenet().training()).isEqualTo(3 * 4_586_000 - 576_000);
    assertThat(r.head().training()).isEqualTo(3 * 2.0 * (800 * 500 + 500 * 10) - 2.0 * 800 * 500);
    assertThat(r.rows()).extracting(CeilingBenchmark.Row::layers).containsExactly("DL4J built-in", "oneDNN", "oneDNN + Graft's kernels", "dense");
    for (CeilingBenchmark.Row row : r.rows()) {
      assertThat(row.gflops()).isCloseTo(row.samplesPerSecond() * (row.layers().equals("dense") ? r.head() : r.lenet()).training() / 1e9,
          Offset.offset(1e-9));
      assertThat(row.shareOfPeak()).isCloseTo(row.gflops() / r.peakGflops(), Offset.offset(1e-12));
    }
    String md = Files.readString(report);
    assertThat(md).contains("| LeNet | oneDNN | 64 |", "| LeNet | oneDNN + Graft's kernels | 64 |", "| LeNet | DL4J built-in | 64 |",
        "dense head (800→500→10)", "256 rows of");
    assertThat(md).contains(String.format(Locale.ROOT, "best %.1f GFLOP/s", r.peakGflops()));
    // the benchmark leaves the JVM as Graft configures it
    assertThat(System.getProperty(OneDnn.HELPERS_DISABLE)).isEqualTo("false");
  }

  /**
   * deploy/bench/step_profile.py on one recorded step of each oneDNN row of a {@code DNNL_VERBOSE=1} run on this
   * machine kind: every primitive lands in its layer's row, the minibatch-as-channels convolution counts as Graft's
   * weight gradient, and what oneDNN did not run is the step less the primitives.
   */
  @Test
  void theOneDnnStepProfileSplitsARecordedRunByRowAndLayer() throws Exception {
    Path log = Path.of(getClass().getResource("/bench/onednn-verbose-lenet.log").toURI());
    Path script = Path.of(System.getProperty("user.dir")).resolveSibling("deploy/bench/step_profile.py");
    Process p = new ProcessBuilder("python3", script.toString(), "onednn", log.toString(), "--batch", "256").redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertThat(p.waitFor()).as(out).isZero();
    assertThat(out).contains("| kind of work | oneDNN, ms per step | oneDNN + Graft's kernels, ms per step |",
        "| convolution 1→20 channels, backward data (input gradient) | 36.2 | 0.0 |",
        "| convolution 1→20 channels, weight gradient as a forward convolution (Graft) | 0.0 | 7.5 |",
        "| convolution 20→50 channels, backward data (input gradient) | 16.0 | 14.7 |",
        "| **whole step** | **161.3** | **109.3** |", "per step (1, 1 steps)");
    assertThat(out).containsPattern("\\| outside oneDNN [^|]*\\| 16\\.0 \\| 33\\.7 \\|");

    // Graft's max pooling runs no oneDNN primitive: the same run with its pooling lines gone from Graft's row still
    // counts that row's step, and the pooling time moves out of oneDNN
    List<String> lines = Files.readAllLines(log);
    int graftRow = lines.indexOf(lines.stream().filter(l -> l.startsWith("[bench]")).findFirst().orElseThrow());
    List<String> javaPooling = new java.util.ArrayList<>(lines.subList(0, graftRow + 1));
    lines.subList(graftRow + 1, lines.size()).stream().filter(l -> !l.contains(",pooling")).forEach(javaPooling::add);
    Path withoutPooling = Files.write(work.resolve("java-pooling.log"), javaPooling);
    Process q = new ProcessBuilder("python3", script.toString(), "onednn", withoutPooling.toString(), "--batch", "256")
        .redirectErrorStream(true).start();
    String moved = new String(q.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertThat(q.waitFor()).as(moved).isZero();
    assertThat(moved).contains("| pooling | 11.5 | 0.0 |", "| **whole step** | **161.3** | **109.3** |", "per step (1, 1 steps)");
    assertThat(moved).containsPattern("\\| outside oneDNN [^|]*Graft's max pooling[^|]*\\| 16\\.0 \\| 42\\.5 \\|");

    Path missing = work.resolve("no-such.out");
    Process bad = new ProcessBuilder("python3", script.toString(), "onednn", missing.toString()).redirectErrorStream(true).start();
    String err = new String(bad.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertThat(bad.waitFor()).isNotZero();
    assertThat(err).isEqualTo("step_profile: cannot read " + missing + ": No such file or directory\n");
  }

  @Test
  void aMinibatchLargerThanTheRowsIsRefusedBeforeAnyWork() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream saved = System.err;
    System.setErr(new PrintStream(err, true));
    try {
      assertThat(GraftCli.run("bench-ceiling", "--train", "file:/nowhere", "--rows", "128", "--batch", "64,256", "--report",
          work.resolve("c.md").toString())).isEqualTo(GraftCli.EXIT_BAD_INPUT);
    } finally {
      System.setErr(saved);
    }
    assertThat(err.toString()).contains("bench-ceiling: --batch sizes must be between 1 and --rows (128), cannot be: 256");
    assertThat(work.resolve("c.md")).doesNotExist();
  }
}

package io.graft.pipeline.runner;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.graft.cli.GraftCli;
import io.graft.pipeline.PipelineLock;
import io.graft.pipeline.PipelinePlan;
import io.graft.pipeline.PipelineSpec;
import io.graft.store.Storage;
import io.graft.testing.SparkTests;
import io.graft.testing.TestData;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code graft pipeline} as a scheduler sees it: exit codes, one-line errors, the summary. */
class PipelineCliTest {
  @TempDir Path dir;

  int run(String... args) {
    SparkTests.spark();
    return GraftCli.run(args);
  }

  String digits() {
    return TestData.raw("digits").resolve("digits.csv.gz").toString();
  }

  @Test
  void aFailedStageBlocksWhatReadsItWhileIndependentStagesStillRun() throws Exception {
    Path garbage = Files.writeString(dir.resolve("not-idx"), "this is not an IDX file");
    Path file = Files.writeString(dir.resolve("p.yaml"), """
        stages:
          - {name: broken, type: import, args: {format: idx, input: "%s", num-classes: 10}}
          - name: pretrain
            type: pretrain
            config: {data: {train: "${broken}", test: "${broken}"}, training: {epochs: 1}}
          - {name: digits, type: import, args: {format: digits-csv, input: "%s", num-classes: 10}}
        """.formatted(garbage, digits()));
    Path summary = dir.resolve("summary.json");
    assertThat(run("pipeline", "run", file.toString(), "--root", dir.resolve("out").toString(), "--summary", summary.toString()))
        .isEqualTo(GraftCli.EXIT_FAILED);
    JsonNode s = new ObjectMapper().readTree(summary.toFile());
    assertThat(s.path("status").asText()).isEqualTo("failed");
    assertThat(s.path("stages").findValuesAsText("outcome")).containsExactly("failed", "blocked", "done");
    assertThat(s.path("stages").get(1).path("reason").asText()).isEqualTo("input failed: broken");
    assertThat(s.path("stages").get(0).path("exitCode").asInt()).isEqualTo(GraftCli.EXIT_BAD_INPUT);
    // the failed stage has no done marker: the next run tries it again, and skips what finished
    assertThat(run("pipeline", "run", file.toString(), "--root", dir.resolve("out").toString(), "--summary", summary.toString()))
        .isEqualTo(GraftCli.EXIT_FAILED);
    assertThat(new ObjectMapper().readTree(summary.toFile()).path("stages").findValuesAsText("action")).containsExactly("run", "none", "skip");
  }

  @Test
  void badStageSettingsAreRefusedWithExitTwoBeforeAnyStageRuns() throws Exception {
    Path file = Files.writeString(dir.resolve("p.yaml"), """
        stages:
          - {name: digits, type: import, args: {format: digits-csv, input: "%s", num-classes: 10}}
          - name: pretrain
            type: pretrain
            config: {data: {train: "${digits}", test: "${digits}"}, training: {epocs: 1}}
        """.formatted(digits()));
    String err = stderr(() -> assertThat(run("pipeline", "run", file.toString(), "--root", dir.resolve("out").toString()))
        .isEqualTo(GraftCli.EXIT_BAD_INPUT));
    assertThat(err).startsWith("graft: error: Unknown config key 'training.epocs' in stage 'pretrain' config (known keys here: ");
    assertThat(dir.resolve("out/digits")).doesNotExist();

    Files.writeString(file, "stages:\n  - {name: digits, type: import, args: {format: digits-csv, input: \"" + digits() + "\", inptu: x}}\n");
    err = stderr(() -> assertThat(run("pipeline", "plan", file.toString(), "--root", dir.resolve("out").toString()))
        .isEqualTo(GraftCli.EXIT_BAD_INPUT));
    assertThat(err).startsWith("graft: error: stage 'digits': ").contains("'--inptu'");
  }

  @Test
  void aRunIsRefusedWithExitFourWhileAnotherHoldsTheLock() throws Exception {
    Path file = Files.writeString(dir.resolve("p.yaml"),
        "stages:\n  - {name: digits, type: import, args: {format: digits-csv, input: \"" + digits() + "\", num-classes: 10}}\n");
    Storage storage = new Storage(new Configuration());
    String root = dir.resolve("out").toUri().toString();
    try (PipelineLock held = PipelineLock.acquire(storage, storage.path(root + "/_graft/lock"), "nightly-1", Duration.ofMinutes(10), s -> {})) {
      String err = stderr(() -> assertThat(run("pipeline", "run", file.toString(), "--root", root)).isEqualTo(GraftCli.EXIT_LOCK_HELD));
      assertThat(err).startsWith("graft: lock held: Pipeline root is locked by run nightly-1 (pid ");
      assertThat(dir.resolve("out/digits")).doesNotExist();
    }
    assertThat(run("pipeline", "run", file.toString(), "--root", root)).isZero();
  }

  @Test
  void theShippedNightlyPipelinePlansAndEveryStageValidates() throws Exception {
    Path mnist = TestData.raw("mnist");
    Path fashion = TestData.raw("fashion-mnist");
    PipelineSpec spec = PipelineSpec.read(Path.of(System.getProperty("user.dir")).resolveSibling("deploy/pipelines/nightly.yaml"))
        .withRoot(dir.resolve("nightly").toString())
        .withOverrides(List.of("source-train.input=" + mnist.resolve("train-images-idx3-ubyte"),
            "source-test.input=" + mnist.resolve("t10k-images-idx3-ubyte"), "target-train.input=" + fashion.resolve("train-images-idx3-ubyte.gz"),
            "target-test.input=" + fashion.resolve("t10k-images-idx3-ubyte.gz")));
    Storage storage = new Storage(new Configuration());
    PipelinePlan plan = PipelineRunner.plan(spec, storage);
    new PipelineRunner(plan, storage).validate();
    assertThat(plan.instancesOf("finetune")).hasSize(18);
    assertThat(plan.instancesOf("verdict-100").get(0).settings().path("runs")).hasSize(3);
    assertThat(plan.instancesOf("report").get(0).upstream()).hasSize(23);
    assertThat(new PipelineRunner(plan, storage).decide()).extracting(d -> d.action().toString()).containsOnly("run");
  }

  static String stderr(Runnable r) {
    PrintStream old = System.err;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    System.setErr(new PrintStream(buf, true));
    try {
      r.run();
    } finally {
      System.setErr(old);
    }
    String s = buf.toString();
    old.print(s);
    return s;
  }
}

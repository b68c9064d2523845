package io.graft.pipeline.runner;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.graft.cli.GraftCli;
import io.graft.testing.SparkTests;
import io.graft.testing.TestData;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A pipeline run killed (SIGKILL) in the middle of a training stage: the rerun skips the finished
 * imports, takes over the dead run's lock and resumes the stage from its last checkpoint instead
 * of starting it again.
 */
class PipelineResumeTest {
  static final ObjectMapper JSON = new ObjectMapper();
  @TempDir Path dir;

  @Test
  void aRunKilledMidStageResumesThatStageFromItsCheckpoint() throws Exception {
    String mnist = TestData.raw("mnist").toString();
    Path file = Files.writeString(dir.resolve("p.yaml"), """
        name: resume
        stages:
          - {name: train, type: import, args: {format: idx, input: "%1$s/train-images-idx3-ubyte", num-classes: 10, limit: 3000}}
          - {name: test, type: import, args: {format: idx, input: "%1$s/t10k-images-idx3-ubyte", num-classes: 10, limit: 1000}}
          - name: pretrain
            type: pretrain
            config:
              data: {train: "${train}", test: "${test}"}
              model: {architecture: lenet, convChannels: [8, 16], dense: 64}
              training: {epochs: 4, batchSizePerWorker: 32}
        """.formatted(mnist));
    Path root = dir.resolve("out");
    Path log = dir.resolve("killed-run.log");

    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments().stream().filter(a -> !a.startsWith("-agentlib")).toList());
    cmd.add("-Xmx1500m");
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), GraftCli.class.getName(),
        "pipeline", "run", file.toString(), "--root", root.toString()));
    Process run = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    int killedAfterRound = 0;
    try {
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
      while (System.nanoTime() < deadline && run.isAlive() && killedAfterRound == 0) {
        Optional<Path> state = checkpointState(root);
        if (state.isPresent()) {
          killedAfterRound = JSON.readTree(state.get().toFile()).path("round").asInt();
        } else {
          Thread.sleep(200);
        }
      }
    } finally {
      run.destroyForcibly();
      run.waitFor(60, TimeUnit.SECONDS);
    }
    assertThat(killedAfterRound).as("a checkpoint appeared before the run ended; log:\n" + Files.readString(log)).isBetween(1, 3);
    Path stage = checkpointState(root).orElseThrow().getParent().getParent();
    assertThat(stage.resolve(PipelineRunner.MARKER)).doesNotExist();
    assertThat(root.resolve("_graft/lock")).as("the killed run's lock is left behind").exists();

    SparkTests.spark();
    Path summary = dir.resolve("summary.json");
    assertThat(GraftCli.run("pipeline", "run", file.toString(), "--root", root.toString(), "--summary", summary.toString())).isZero();
    JsonNode stages = JSON.readTree(summary.toFile()).path("stages");
    assertThat(stages.findValuesAsText("action")).containsExactly("skip", "skip", "resume");
    int resumedFrom = JSON.readTree(stage.resolve("provenance.json").toFile()).path("resumedFromRound").asInt();
    // the kill may land just after a later checkpoint than the one we saw
    assertThat(resumedFrom).isBetween(killedAfterRound, 3);
    assertThat(stages.get(2).path("reason").asText()).isEqualTo("an interrupted run left a checkpoint after round " + resumedFrom);
    List<String> rounds = Files.readAllLines(stage.resolve("metrics.jsonl"));
    assertThat(rounds).hasSize(4);
    assertThat(rounds).extracting(l -> JSON.readTree(l).path("round").asInt()).containsExactly(1, 2, 3, 4);
    assertThat(stage.resolve(PipelineRunner.MARKER)).exists();
  }

  private static Optional<Path> checkpointState(Path root) throws Exception {
    Path stages = root.resolve("pretrain");
    if (!Files.isDirectory(stages)) {
      return Optional.empty();
    }
    try (var dirs = Files.list(stages)) {
      return dirs.map(d -> d.resolve("_checkpoint/state.json")).filter(Files::exists).findFirst();
    }
  }
}

package io.graft.pipeline.runner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.graft.pipeline.InputKeys;
import io.graft.pipeline.PipelineException;
import io.graft.pipeline.PipelineSpec;
import io.graft.pipeline.StageType;
import io.graft.store.Storage;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A pipeline checks the inputs each stage's job marks, by the keys and options the stage spells them with. */
class StageInputKeysTest {
  @TempDir Path dir;

  static InputKeys keys(StageType type) {
    return StageJobs.job(type).inputKeys();
  }

  @Test
  void everyJobDeclaresItsInputsUnderTheNamesAStageSpellsThemWith() {
    assertThat(keys(StageType.PRETRAIN).paths()).containsExactlyInAnyOrder("data.train", "data.test", "probe.train", "probe.test");
    assertThat(keys(StageType.FINETUNE).paths()).containsExactlyInAnyOrder("source", "data.train", "data.test");
    assertThat(keys(StageType.DANN).paths()).containsExactlyInAnyOrder("source.train", "source.test", "target.train", "target.test",
        "pretrained");
    assertThat(keys(StageType.MULTITASK).paths()).containsExactlyInAnyOrder("tasks[].train", "tasks[].test", "pretrained");
    assertThat(keys(StageType.IMPORT).paths()).containsExactlyInAnyOrder("input", "labels", "embeddings");
    assertThat(keys(StageType.IMPORT).watched()).containsExactlyInAnyOrder("input", "labels", "embeddings");
    assertThat(keys(StageType.DIVERGENCE).paths()).containsExactlyInAnyOrder("source", "target", "model");
    assertThat(keys(StageType.PROBE).paths()).containsExactlyInAnyOrder("model", "target", "target-test");
    assertThat(keys(StageType.EVALUATE).paths()).containsExactlyInAnyOrder("positional", "data");
    assertThat(keys(StageType.VERDICT).paths()).containsExactlyInAnyOrder("runs", "baseline");
    assertThat(keys(StageType.PREDICT).paths()).containsExactlyInAnyOrder("model", "data");
    assertThat(keys(StageType.REPORT).paths()).containsExactlyInAnyOrder("positional");
    assertThat(keys(StageType.FETCH_DATA).paths()).isEmpty();
    for (StageType t : StageType.values()) {
      assertThat(keys(t).paths()).as(t + ": only outputs are not inputs").doesNotContain("output", "out", "dest");
    }
  }

  @Test
  void aMissingInputInsideAListIsNamedWithItsIndexBeforeAnythingRuns() throws Exception {
    Path present = Files.createDirectories(dir.resolve("digits"));
    String missing = dir.resolve("no-such-fashion").toString();
    PipelineSpec spec = PipelineSpec.parse("""
        root: %s
        stages:
          - name: mt
            type: multitask
            config:
              tasks:
                - {name: digits, train: "%s"}
                - {name: fashion, train: "%s"}
        """.formatted(dir.resolve("out"), present, missing), "p.yaml");
    assertThatThrownBy(() -> PipelineRunner.plan(spec, new Storage(new Configuration())))
        .isInstanceOf(PipelineException.class)
        .hasMessage("stage 'mt': input 'tasks[1].train' not found: " + missing);
  }
}

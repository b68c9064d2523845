package io.graft.pipeline.runner;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.graft.jobs.demo.DemoJob;
import io.graft.pipeline.PipelinePlan;
import io.graft.store.Storage;
import io.graft.testing.Chromium;
import io.graft.testing.SparkTests;
import io.graft.testing.TestData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The demo pipeline end to end, shortened (3,000 MNIST rows for one round, 3 rounds on the digits,
 * 10 Fashion labels per class, 1,000 DANN rows): it runs from one call and says both verdicts; a
 * second run with nothing changed skips every stage; changing one fine-tune setting reruns that
 * stage's instances and what reads them, nothing else. The full-size demo is the README's first
 * command.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DemoPipelineTest {
  Path root;
  List<String> overrides;
  final Storage storage = new Storage(SparkTests.spark().sparkContext().hadoopConfiguration());
  JsonNode first;

  @BeforeAll
  void smallDemo() throws Exception {
    root = Files.createTempDirectory(SparkTests.work(), "demo-pipeline-");
    // the fetch stage verifies the test run's raw files instead of downloading them again
    Path raw = Files.createDirectories(root.resolve("raw"));
    for (String d : List.of("mnist", "fashion-mnist", "digits")) {
      Files.createSymbolicLink(raw.resolve(d), TestData.raw(d));
    }
    overrides = new ArrayList<>(List.of("fetch.dest=" + raw, "mnist-train.limit=3000", "fashion-train.limit=3000", "fashion-test.limit=1000",
        "pretrain.training.epochs=1", "finetune.epochs=2", "finetune.headEpochs=1", "finetune.data.labelsPerClass=10",
        "digits-finetune.epochs=3", "dann.training.maxRows=1000", "dann.training.epochs=1"));
  }

  DemoJob.Result run(List<String> settings) throws Exception {
    return DemoJob.run(new DemoJob.DemoConfig(root.toString(), settings), storage,
        PipelineRunner.Options.defaults(SparkTests::spark, line -> System.out.println("[demo-test] " + line)));
  }

  static Map<String, String> actions(JsonNode summary) {
    Map<String, String> out = new LinkedHashMap<>();
    summary.path("stages").forEach(s -> out.put(s.path("instance").asText(), s.path("action").asText()));
    return out;
  }

  @Test
  @Order(1)
  void theDemoRunsEveryStageFromOneCallAndPublishesStableCopies() throws Exception {
    DemoJob.Result r = run(overrides);
    first = r.pipeline().summary();
    assertThat(r.pipeline().exitCode()).as(first.toPrettyString()).isIn(0, 3);
    assertThat(actions(first)).hasSize(29).containsValues("run").doesNotContainValue("skip");
    assertThat(first.path("stages").findValuesAsText("outcome")).allMatch(o -> o.equals("done") || o.equals("negative-transfer"));
    assertThat(root.resolve("data/mnist/train/_manifest.json")).exists();
    assertThat(root.resolve("data/digits20p4/_manifest.json")).exists();
    assertThat(root.resolve("models/lenet-mnist/model.zip")).exists();
    assertThat(root.resolve("models/lenet-mnist/_checkpoint")).doesNotExist();
    assertThat(r.testAccuracy()).isGreaterThan(0.7);
    assertThat(r.reloadedAccuracy()).isEqualTo(r.testAccuracy());
    assertThat(r.verdicts()).hasSize(2);
    assertThat(r.verdicts().get(0)).matches("(positive|neutral|negative): gradual-unfreeze (beats|loses to|is level with) scratch .*"
        + "on UCI digits, 10 labels per class .*; \\d+\\.\\d\\d% vs \\d+\\.\\d\\d%");
    assertThat(r.verdicts().get(1)).matches("(positive|neutral|negative): feature-extraction (beats|loses to|is level with) scratch .*"
        + "on Fashion-MNIST, 100 labels per class .*; \\d+\\.\\d\\d% vs \\d+\\.\\d\\d%");
    try (var reports = Files.list(root.resolve("report"))) {
      Path report = reports.findFirst().orElseThrow().resolve("report.html");
      // scratch runs on the two targets are two groups, never averaged together
      assertThat(Files.readString(report)).contains("Graft demo", "finetune: feature-extraction on fashion-train", "finetune: scratch on fashion-train",
          "feature-extraction vs scratch", "finetune: gradual-unfreeze on digits", "finetune: scratch on digits", "gradual-unfreeze vs scratch",
          "finetune: scratch on digits, 10 labels per class, seed 3", "finetune: scratch on digits, 30 labels per class, seed 3",
          "Learning curves: finetune on digits").containsPattern("gradual-unfreeze (beats|loses to|is level with) scratch");
      Optional<Chromium> chromium = Chromium.find();
      for (int width : chromium.isPresent() ? new int[] {1280, 500} : new int[0]) {
        chromium.get().requireCleanLayout(report, width);
      }
    }
    assertThat(root.resolve("_graft/runs/latest.json")).exists();
    assertThat(root.resolve("_graft/lock")).doesNotExist();
  }

  @Test
  @Order(2)
  void aSecondRunWithNothingChangedSkipsEveryStage() throws Exception {
    DemoJob.Result r = run(overrides);
    System.out.printf("[demo-test] rerun with nothing changed: %.3f s for the pipeline%n", r.pipeline().summary().path("seconds").asDouble());
    assertThat(actions(r.pipeline().summary())).hasSize(29).containsOnlyKeys(actions(first).keySet()).doesNotContainValue("run")
        .doesNotContainValue("resume");
    assertThat(r.pipeline().exitCode()).isEqualTo(first.path("exitCode").asInt());
  }

  @Test
  @Order(3)
  void changingOneFineTuneSettingRerunsOnlyThatStageAndWhatReadsIt() throws Exception {
    List<String> changed = new ArrayList<>(overrides);
    changed.add("finetune.epochs=3");
    PipelinePlan plan = PipelineRunner.plan(DemoJob.spec().withRoot(root.toString()).withOverrides(changed), storage);
    Map<String, String> why = new LinkedHashMap<>();
    new PipelineRunner(plan, storage).decide().forEach(d -> why.put(d.instance().name(), d.action() + ": " + d.reason()));
    assertThat(why.get("finetune[feature-extraction,training.seed=1]")).isEqualTo("run: settings changed (epochs: 2 -> 3)");
    assertThat(why.get("verdict")).isEqualTo("run: input changed: finetune");
    assertThat(why.get("report")).isEqualTo("run: input changed: finetune, verdict");
    assertThat(why.get("pretrain")).startsWith("skip: done ");

    DemoJob.Result r = run(changed);
    Map<String, String> actions = actions(r.pipeline().summary());
    actions.forEach((stage, action) -> assertThat(action).as(stage)
        .isEqualTo(stage.startsWith("finetune[") || stage.equals("verdict") || stage.equals("report") ? "run" : "skip"));
    // the first run's outputs are still there, under their own keys
    try (var finetunes = Files.list(root.resolve("finetune"))) {
      assertThat(finetunes.count()).isEqualTo(12);
    }
  }
}

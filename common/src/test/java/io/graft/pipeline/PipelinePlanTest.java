package io.graft.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.graft.store.Storage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Planning: references, order, sweeps, keys, and the pipeline files that must be refused. */
class PipelinePlanTest {
  @TempDir Path dir;
  Path raw;
  final Storage storage = new Storage(new Configuration());

  @BeforeEach
  void rawFile() throws Exception {
    raw = Files.writeString(dir.resolve("images.idx"), "pretend raw data");
  }

  String pipeline(String epochs) {
    return """
        name: t
        root: %s
        stages:
          - name: report
            type: report
            args: {positional: ["${finetune}", "${verdict}"]}
          - name: verdict
            type: verdict
            args: {runs: "${finetune[two-stage]}", baseline: "${finetune[scratch]}"}
          - name: mnist
            type: import
            args: {format: idx, input: "%s", num-classes: 10}
          - name: pretrain
            type: pretrain
            config: {data: {train: "${mnist}", test: "${mnist}"}, training: {epochs: 2}}
          - name: finetune
            type: finetune
            config: {source: "${pretrain}", data: {train: "${mnist}", test: "${mnist}"}, epochs: %s}
            variants: {scratch: {strategy: scratch}, two-stage: {strategy: two-stage}}
            sweep: {training.seed: [1, 2]}
        """.formatted(dir.resolve("out"), raw, epochs);
  }

  /** The inputs these stage types' jobs declare (spark-jobs' StageInputKeysTest checks the real ones). */
  static InputKeys inputs(StageType type) {
    return switch (type) {
      case IMPORT -> new InputKeys(Set.of("input", "labels", "embeddings"), Set.of("input", "labels", "embeddings"));
      case PRETRAIN -> new InputKeys(Set.of("data.train", "data.test"), Set.of());
      case FINETUNE -> new InputKeys(Set.of("source", "data.train", "data.test"), Set.of());
      case VERDICT -> new InputKeys(Set.of("runs", "baseline"), Set.of());
      case REPORT -> new InputKeys(Set.of("positional"), Set.of());
      default -> new InputKeys(Set.of(), Set.of());
    };
  }

  PipelinePlan plan(String yaml) {
    return PipelinePlan.build(PipelineSpec.parse(yaml, "test.yaml"), storage, PipelinePlanTest::inputs);
  }

  Map<String, PipelinePlan.Instance> byName(PipelinePlan p) {
    return p.instances().stream().collect(Collectors.toMap(PipelinePlan.Instance::name, Function.identity()));
  }

  @Test
  void inputsComeFirstAndSweepsExpandIntoOneInstancePerCombination() {
    PipelinePlan p = plan(pipeline("4"));
    assertThat(p.instances()).extracting(PipelinePlan.Instance::name).containsExactly("mnist", "pretrain",
        "finetune[scratch,training.seed=1]", "finetune[scratch,training.seed=2]",
        "finetune[two-stage,training.seed=1]", "finetune[two-stage,training.seed=2]", "verdict", "report");
    Map<String, PipelinePlan.Instance> i = byName(p);
    PipelinePlan.Instance ft = i.get("finetune[two-stage,training.seed=2]");
    assertThat(ft.settings().path("strategy").asText()).isEqualTo("two-stage");
    assertThat(ft.settings().path("training").path("seed").asInt()).isEqualTo(2);
    assertThat(ft.settings().path("source").asText()).isEqualTo(i.get("pretrain").output());
    assertThat(ft.settings().path("output").asText()).isEqualTo(ft.output());
    assertThat(ft.output()).isEqualTo(p.root() + "/finetune/" + ft.shortKey());
    // a selected sweep becomes a list of output folders; the report gets every instance
    assertThat(i.get("verdict").settings().path("runs")).extracting(n -> n.asText())
        .containsExactly(i.get("finetune[two-stage,training.seed=1]").output(), ft.output());
    assertThat(i.get("verdict").settings().path("out").asText()).isEqualTo(i.get("verdict").output() + "/result.json");
    assertThat(i.get("report").settings().path("positional")).hasSize(5);
    assertThat(i.get("report").upstream()).hasSize(5);
  }

  @Test
  void aChangedSettingChangesTheKeyOfThatStageAndEverythingDownstreamOnly() {
    Map<String, PipelinePlan.Instance> before = byName(plan(pipeline("4")));
    Map<String, PipelinePlan.Instance> same = byName(plan(pipeline("4")));
    Map<String, PipelinePlan.Instance> after = byName(plan(pipeline("5")));
    before.forEach((name, inst) -> assertThat(same.get(name).key()).as(name).isEqualTo(inst.key()));
    assertThat(after.get("mnist").key()).isEqualTo(before.get("mnist").key());
    assertThat(after.get("pretrain").key()).isEqualTo(before.get("pretrain").key());
    for (String name : List.of("finetune[scratch,training.seed=1]", "finetune[two-stage,training.seed=2]", "verdict", "report")) {
      assertThat(after.get(name).key()).as(name).isNotEqualTo(before.get(name).key());
    }
  }

  @Test
  void newInputDataChangesTheImportKey() throws Exception {
    String before = byName(plan(pipeline("4"))).get("mnist").key();
    Files.writeString(raw, "fresh raw data, longer than before");
    assertThat(byName(plan(pipeline("4"))).get("mnist").key()).isNotEqualTo(before);
  }

  @Test
  void overridesNameTheStage() {
    PipelineSpec spec = PipelineSpec.parse(pipeline("4"), "test.yaml").withOverrides(List.of("pretrain.training.epochs=7"));
    PipelinePlan p = PipelinePlan.build(spec, storage, PipelinePlanTest::inputs);
    assertThat(byName(p).get("pretrain").settings().path("training").path("epochs").asInt()).isEqualTo(7);
    assertThatThrownBy(() -> PipelineSpec.parse(pipeline("4"), "test.yaml").withOverrides(List.of("pretrian.training.epochs=7")))
        .isInstanceOf(PipelineException.class)
        .hasMessage("Invalid --set 'pretrian.training.epochs=7': no stage 'pretrian' (stages: report, verdict, mnist, pretrain, finetune)");
  }

  String stages(String body) {
    return "root: " + dir.resolve("out") + "\nstages:\n" + body;
  }

  @Test
  void aCycleIsRefusedWithItsPath() {
    assertThatThrownBy(() -> plan(stages("""
          - {name: a, type: pretrain, config: {data: {train: "${c}"}}}
          - {name: b, type: finetune, config: {source: "${a}"}}
          - {name: c, type: import, args: {input: "${b}"}}
        """)))
        .isInstanceOf(PipelineException.class)
        .hasMessage("Pipeline test.yaml: stages form a cycle: a -> b -> c -> a");
  }

  @Test
  void anUnknownStageTypeIsRefused() {
    assertThatThrownBy(() -> plan(stages("  - {name: a, type: pretrian, config: {}}\n")))
        .isInstanceOf(PipelineException.class)
        .hasMessage("stage 'a': unknown type 'pretrian' (types: fetch-data, import, import-model, pretrain, finetune, multitask, dann, divergence, "
            + "probe, evaluate, verdict, predict, report)");
  }

  @Test
  void aReferenceToAMissingStageIsRefused() {
    assertThatThrownBy(() -> plan(stages("  - {name: ft, type: finetune, config: {source: \"${pretrain}\"}}\n")))
        .isInstanceOf(PipelineException.class)
        .hasMessage("stage 'ft' refers to 'pretrain', but there is no such stage (stages: ft)");
    assertThatThrownBy(() -> plan(stages("  - {name: ft, type: finetune, after: [nothing], config: {}}\n")))
        .hasMessage("stage 'ft' refers to 'nothing', but there is no such stage (stages: ft)");
  }

  @Test
  void aMissingInputPathIsRefusedBeforeAnythingRuns() {
    String missing = dir.resolve("no-such-model").toString();
    assertThatThrownBy(() -> plan(stages("  - {name: ft, type: finetune, config: {source: \"" + missing + "\"}}\n")))
        .isInstanceOf(PipelineException.class)
        .hasMessage("stage 'ft': input 'source' not found: " + missing);
    assertThatThrownBy(() -> plan(stages("  - {name: m, type: import, args: {format: idx, input: \"" + missing + "\"}}\n")))
        .hasMessage("stage 'm': watched input not found: " + missing);
  }

  @Test
  void malformedFilesAreRefusedWithTheKeyNamed() {
    assertThatThrownBy(() -> plan(stages("  - {name: a, type: pretrain, confg: {}}\n")))
        .hasMessage("stage 'a': unknown key 'confg' (known: after, args, config, name, publish, sweep, type, variants, watch)");
    assertThatThrownBy(() -> plan(stages("  - {name: a, type: pretrain, args: {}}\n")))
        .hasMessage("stage 'a': a pretrain stage takes 'config', not 'args'");
    assertThatThrownBy(() -> plan(stages("  - {name: a, type: report}\n  - {name: a, type: report}\n")))
        .hasMessage("stage 'a' is defined twice");
    assertThatThrownBy(() -> plan(stages("  - {name: a, type: pretrain, config: {output: /tmp/x}}\n")))
        .hasMessageStartingWith("stage 'a': 'output' is set by the pipeline (");
    assertThatThrownBy(() -> plan("stages: []\n")).hasMessage("Pipeline test.yaml has no stages (expected a list under 'stages')");
    assertThatThrownBy(() -> plan("stages:\n  - {name: a, type: report}\n"))
        .hasMessage("Pipeline test.yaml has no root: set 'root:' in the file or pass --root");
    assertThatThrownBy(() -> plan(stages("  - {name: a, type: report\n"))).hasMessageStartingWith("Pipeline test.yaml is not valid YAML");
    assertThatThrownBy(() -> plan(stages("""
          - {name: ft, type: finetune, config: {}, sweep: {training.seed: [1, 2]}}
          - {name: r, type: report, args: {title: "runs in ${ft}"}}
        """)))
        .hasMessage("stage 'r': '${ft}' in \"runs in ${ft}\" names 2 outputs; inside a longer string a reference must name one "
            + "(select it with ${stage[variant,key=value]})");
    assertThatThrownBy(() -> plan(stages("""
          - {name: ft, type: finetune, config: {}, variants: {a: {}, b: {}}}
          - {name: r, type: report, args: {positional: ["${ft[c]}"]}}
        """)))
        .hasMessage("stage 'r': ${ft[c]} matches none of ft's outputs (ft[a], ft[b])");
  }

  @Test
  void specFilesRoundTripFromDisk() throws Exception {
    Path file = Files.writeString(dir.resolve("p.yaml"), pipeline("4"));
    assertThat(PipelineSpec.read(file).stages()).hasSize(5);
    assertThatThrownBy(() -> PipelineSpec.read(dir.resolve("nope.yaml")))
        .hasMessage("Pipeline file not found: " + dir.resolve("nope.yaml"));
  }
}

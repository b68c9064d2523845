package io.graft.jobs.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.graft.testing.SparkTests;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The overhead benchmark on a few real MNIST rows: DL4J, both Spark engines and the PyTorch peer, one table, figures that add up. */
class OverheadBenchmarkTest {
  @TempDir Path work;

  @Test
  void timesSingleJvmBothSparkEnginesAndPyTorchOnTheSameRows() throws Exception {
    Path report = work.resolve("overhead.md");
    boolean torch = TorchPeer.find("auto", work.resolve("probe")) != null;
    if (System.getenv("CI") != null) {
      assertThat(torch).as("CI installs Debian's python3-torch, the PyTorch peer").isTrue();
    }
    OverheadBenchmark.Result r = OverheadBenchmark.run(new OverheadBenchmark.Spec(SparkTests.mnistTrain(), 640, 32, 5, 1, "lenet", "auto",
        work, report), SparkTests.spark(), System.out::println);
    // each row is what it says: the engine that trained it (from the run's provenance), the same 640 rows timed
    List<String> keys = torch
        ? List.of("single_jvm", "single_jvm_dl4j", "dl4j_spark", "graft", "torch_1t", "torch_nt", "torch_ddp")
        : List.of("single_jvm", "single_jvm_dl4j", "dl4j_spark", "graft");
    assertThat(r.variants()).extracting(OverheadBenchmark.Variant::key).containsExactlyElementsOf(keys);
    assertThat(r.variants()).extracting(OverheadBenchmark.Variant::engine).startsWith("none", "none", "dl4j-spark", "graft");
    assertThat(r.variants()).extracting(OverheadBenchmark.Variant::samples).containsOnly(640L);
    for (OverheadBenchmark.Variant v : r.variants()) {
      assertThat(v.samplesPerSecond()).as(v.name()).isPositive();
      assertThat(v.testAccuracy()).as("%s trained: above the 10 %% of chance on the 100 rows after the timed ones", v.name())
          .isGreaterThan(0.3);
    }
    String md = Files.readString(report);
    assertThat(md).contains("| single-JVM DL4J `fit`, no Spark, Graft's kernels | none | 640 |",
        "| single-JVM DL4J `fit`, no Spark, DL4J's own layers | none | 640 |",
        "| `graft pretrain`, dl4j-spark ParameterAveragingTrainingMaster | dl4j-spark | 640 |",
        "| `graft pretrain`, Graft averaging (barrier rounds) | graft | 640 |", "640 rows of", "scored on the next 100", " cores",
        "ND4J CPU backend", "oneDNN layers on");
    String line = r.keyValues("lenet");
    assertThat(line).contains(String.format(Locale.ROOT, "ratio_graft=%.2f", r.samplesPerSecond("graft") / r.samplesPerSecond("single_jvm")),
        "host=\"");
    // Graft's averaging runs barrier rounds here: where its tasks spent the timed epoch, as shares of their time
    Map<String, Double> shares = r.get("graft").taskShares();
    assertThat(shares).containsOnlyKeys("tasks_fitting_share", "tasks_waiting_share", "tasks_averaging_share");
    assertThat(shares.get("tasks_fitting_share")).as("most of a task's time is training").isGreaterThan(0.5);
    assertThat(line).contains(String.format(Locale.ROOT, "graft_tasks_fitting_share=%.3f", shares.get("tasks_fitting_share")));
    assertThat(r.get("dl4j_spark").taskShares()).isEmpty();
    if (torch) {
      assertThat(md).contains("| PyTorch DistributedDataParallel, 2 processes x 1 thread (gloo) | torch | 640 |", "PyTorch 1.13");
      assertThat(md).contains(String.format(Locale.ROOT, "| %.2fx |", r.samplesPerSecond("graft") / r.samplesPerSecond("torch_ddp")));
      assertThat(line).contains(String.format(Locale.ROOT, "graft_vs_torch_ddp=%.2f",
          r.samplesPerSecond("graft") / r.samplesPerSecond("torch_ddp")));
    }
  }

  @Test
  void aNamedPythonWithoutTorchIsRefusedInOneLine() {
    assertThatThrownBy(() -> TorchPeer.find("/bin/false", work))
        .hasMessage("--python /bin/false cannot import torch (Debian: apt-get install python3-torch)");
  }
}

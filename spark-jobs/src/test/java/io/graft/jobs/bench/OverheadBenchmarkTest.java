package io.graft.jobs.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.graft.testing.SparkTests;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The overhead benchmark on a few real MNIST rows: three variants, one table, figures that add up. */
class OverheadBenchmarkTest {
  @TempDir Path work;

  @Test
  void timesSingleJvmAndBothSparkEnginesOnTheSameRows() throws Exception {
    Path report = work.resolve("overhead.md");
    OverheadBenchmark.Result r = OverheadBenchmark.run(new OverheadBenchmark.Spec(SparkTests.mnistTrain(), 640, 32, 5, 1, work, report),
        SparkTests.spark(), System.out::println);
    // each row is what it says: the engine that trained it (from the run's provenance), the same 640 rows timed
    assertThat(List.of(r.singleJvmFit(), r.dl4jSparkRun(), r.graftRun())).extracting(OverheadBenchmark.Variant::engine)
        .containsExactly("none", "dl4j-spark", "graft");
    assertThat(List.of(r.singleJvmFit(), r.dl4jSparkRun(), r.graftRun())).extracting(OverheadBenchmark.Variant::samples)
        .containsOnly(640L);
    for (OverheadBenchmark.Variant v : List.of(r.singleJvmFit(), r.dl4jSparkRun(), r.graftRun())) {
      assertThat(v.samplesPerSecond()).as(v.name()).isPositive();
      assertThat(v.testAccuracy()).as("%s trained: above the 10 %% of chance on the 100 rows after the timed ones", v.name())
          .isGreaterThan(0.3);
    }
    String md = Files.readString(report);
    assertThat(md).contains("| single-JVM DL4J `fit`, no Spark | none | 640 |",
        "| `graft pretrain`, dl4j-spark ParameterAveragingTrainingMaster | dl4j-spark | 640 |",
        "| `graft pretrain`, Graft averaging (barrier rounds) | graft | 640 |", "640 rows of", "scored on the next 100", " cores.");
    assertThat(md).contains(String.format(Locale.ROOT, "| %.2fx |", r.graft() / r.singleJvm()));
  }
}

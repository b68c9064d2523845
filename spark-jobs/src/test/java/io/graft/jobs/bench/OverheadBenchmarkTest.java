package io.graft.jobs.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.graft.testing.SparkTests;
import java.nio.file.Files;
import java.nio.file.Path;
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
    assertThat(r.singleJvm()).isPositive();
    assertThat(r.dl4jSpark()).isPositive();
    assertThat(r.graft()).isPositive();
    assertThat(r.dl4jSparkAccuracy()).isBetween(0.0, 1.0);
    String md = Files.readString(report);
    assertThat(md).contains("| single-JVM DL4J `fit`, no Spark |", "dl4j-spark ParameterAveragingTrainingMaster", "Graft averaging",
        "640 rows of");
    assertThat(md).contains(String.format(java.util.Locale.ROOT, "%.2fx", r.graft() / r.singleJvm()));
  }
}

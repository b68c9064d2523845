package io.graft.diagnostics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.graft.config.ConfigException;
import io.graft.spark.GraftDatasets;
import io.graft.store.Storage;
import io.graft.surgery.Surgery;
import io.graft.testing.SparkTests;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DivergenceTest {
  final SparkSession spark = SparkTests.spark();
  final Storage storage = new Storage(spark.sparkContext().hadoopConfiguration());
  @TempDir Path dir;

  /** A small grid and few iterations: the properties under test do not need the full search. */
  private static ProxyADistance.Options quick(long seed) {
    return new ProxyADistance.Options(new double[] {1e-2, 1.0}, 200, 50, seed);
  }

  @Test
  void aDatasetAgainstAShuffledSplitOfItselfIsNearZeroAndAlwaysInRange() {
    Dataset<Row> mnist = LayerFeatures.extract(spark,
        GraftDatasets.read(spark, storage, SparkTests.mnistTest(), "test").rows(), LayerFeatures.raw()).cache();
    for (long seed : new long[] {1, 2, 3}) {
      Dataset<Row>[] halves = mnist.randomSplit(new double[] {0.5, 0.5}, seed);
      ProxyADistance.Result r = ProxyADistance.compute(halves[0], halves[1], quick(seed));
      assertThat(r.aDistance()).as("seed %d", seed).isBetween(0.0, 0.3);
      assertThat(r.lower()).isBetween(0.0, 2.0);
      assertThat(r.upper()).isBetween(r.aDistance(), 2.0);
      assertThat(r.error()).isLessThanOrEqualTo(0.5);
    }
    mnist.unpersist();
  }

  @Test
  void twoWellSeparatedGaussianCloudsAreNearlyTwoApart() {
    Random rng = new Random(5);
    List<Row> a = new ArrayList<>();
    List<Row> b = new ArrayList<>();
    for (int i = 0; i < 400; i++) {
      a.add(RowFactory.create(0.0, Vectors.dense(gaussian(rng, 10, 0.0))));
      b.add(RowFactory.create(0.0, Vectors.dense(gaussian(rng, 10, 3.0))));
    }
    ProxyADistance.Result r = ProxyADistance.compute(spark.createDataFrame(a, LayerFeatures.SCHEMA),
        spark.createDataFrame(b, LayerFeatures.SCHEMA), quick(1));
    assertThat(r.aDistance()).isGreaterThan(1.9).isLessThanOrEqualTo(2.0);
    assertThat(r.upper()).isLessThanOrEqualTo(2.0);
  }

  private static double[] gaussian(Random rng, int d, double mean) {
    double[] x = new double[d];
    for (int i = 0; i < d; i++) {
      x[i] = mean + rng.nextGaussian();
    }
    return x;
  }

  @Test
  void errorsAboveChanceClampToZeroDistance() {
    assertThat(ProxyADistance.fromError(0.62)).isZero();
    assertThat(ProxyADistance.fromError(0.25)).isEqualTo(1.0);
    assertThat(ProxyADistance.fromError(0.0)).isEqualTo(2.0);
  }

  @Test
  void aLayersFeaturesAreComparedAndTheRecordIsWritten() throws Exception {
    String out = dir.resolve("div.json").toString();
    DivergenceJob.Output o = DivergenceJob.run(new DivergenceJob.Request(SparkTests.mnistTest(), SparkTests.digits28(),
        SparkTests.lenetSource(), "dense1", 300, "mnist vs digits", out, quick(1)), spark);
    assertThat(o.features()).isEqualTo("dense1");
    assertThat(o.result().rowsPerDomain()).isEqualTo(300);
    assertThat(o.result().aDistance()).isBetween(0.0, 2.0);
    // Digits drawn at 20x20 in a 28x28 frame differ visibly from MNIST: a domain classifier on a trained layer tells them apart.
    assertThat(o.result().aDistance()).isGreaterThan(1.0);
    assertThat(Files.readString(Path.of(out))).contains("\"kind\" : \"divergence\"", "\"aDistance\"");
  }

  @Test
  void anUnknownLayerOrMismatchedWidthsAreNamedBeforeSparkWorks() {
    String model = SparkTests.lenetSource();
    List<String> layers = Surgery.layerNames(Surgery.load(storage, model).network());
    assertThatThrownBy(() -> DivergenceJob.validate(new DivergenceJob.Request(SparkTests.mnistTest(), SparkTests.mnistTrain(), model,
        "conv9", 100, null, null, quick(1)), storage)).isInstanceOf(ConfigException.class)
        .hasMessage("Cannot compute divergence: layer 'conv9' not found in model (layers: " + String.join(", ", layers) + ")");
    assertThatThrownBy(() -> DivergenceJob.validate(new DivergenceJob.Request(SparkTests.mnistTest(), SparkTests.digits8(), null, null,
        100, null, null, quick(1)), storage)).isInstanceOf(ConfigException.class)
        .hasMessage("Cannot compute divergence on raw inputs: source " + SparkTests.mnistTest() + " has 784 features, target "
            + SparkTests.digits8() + " has 64 (compare through a model's layer, or import both at one size with --resize)");
    assertThatThrownBy(() -> DivergenceJob.validate(new DivergenceJob.Request(SparkTests.digits8(), SparkTests.mnistTest(), model, null,
        100, null, null, quick(1)), storage)).isInstanceOf(ConfigException.class)
        .hasMessage("Cannot compute divergence: dataset " + SparkTests.digits8() + " has 64 features but model " + model + " takes 784 inputs");
  }
}

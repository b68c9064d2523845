package io.graft.jobs.pretrain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.graft.config.ConfigException;
import io.graft.config.ConfigLoader;
import io.graft.data.DataException;
import io.graft.data.ImportFormat;
import io.graft.data.Manifest;
import io.graft.engine.Checkpoints;
import io.graft.engine.JobOptions;
import io.graft.engine.MetricsLog;
import io.graft.engine.RoundMetrics;
import io.graft.jobs.importer.ImportConfig;
import io.graft.jobs.importer.ImportJob;
import io.graft.spark.GraftDatasets;
import io.graft.store.Provenance;
import io.graft.store.Storage;
import io.graft.testing.SparkTests;
import io.graft.testing.TestData;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.dataset.DataSet;

class PretrainJobTest {
  final SparkSession spark = SparkTests.spark();
  final Storage storage = new Storage(spark.sparkContext().hadoopConfiguration());
  @TempDir Path dir;

  private PretrainConfig config(String output, String... overrides) {
    List<String> sets = new ArrayList<>(List.of(
        "data.train=" + SparkTests.mnistTrain(), "data.test=" + SparkTests.mnistTest(),
        "model.architecture=mlp", "model.hidden=[64]", "training.epochs=2", "training.batchSizePerWorker=32",
        "training.averagingFrequency=5", "optimizer.learningRate=0.003", "output=" + output));
    sets.addAll(List.of(overrides));
    return ConfigLoader.load(null, sets, PretrainConfig.class);
  }

  private static JobOptions quiet() {
    return JobOptions.quiet();
  }

  @Test
  void trainsWritesLoadableModelMetricsAndProvenance() throws Exception {
    String out = dir.resolve("mlp").toUri().toString();
    PretrainJob.Result r = PretrainJob.run(config(out), spark, quiet());

    assertThat(r.testAccuracy()).isGreaterThan(0.85);
    assertThat(r.history()).extracting(RoundMetrics::round).containsExactly(1, 2);
    assertThat(Files.list(dir.resolve("mlp")).map(p -> p.getFileName().toString()).filter(n -> !n.endsWith(".crc")))
        .containsExactlyInAnyOrder("model.zip", "metrics.jsonl", "provenance.json");

    List<JsonNode> metrics = MetricsLog.read(storage, storage.path(out));
    assertThat(metrics).hasSize(2);
    assertThat(metrics.get(1).get("test_accuracy").asDouble()).isEqualTo(r.testAccuracy());
    assertThat(metrics.get(0).has("samples_per_s")).isTrue();

    JsonNode prov = Provenance.read(storage, storage.path(out));
    assertThat(prov.at("/metrics/test_accuracy").asDouble()).isEqualTo(r.testAccuracy());
    assertThat(prov.at("/inputs/train/rows").asLong()).isEqualTo(6000);
    assertThat(prov.at("/inputs/train/details/0/sha256").asText()).isEqualTo("ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db");
    assertThat(prov.at("/config/training/epochs").asInt()).isEqualTo(2);
    assertThat(prov.at("/model/layers").toString()).isEqualTo("[\"dense1\",\"output\"]");

    // Plain DL4J, no Graft code on the model path: the same accuracy on the same rows.
    MultiLayerNetwork net;
    try (InputStream in = Files.newInputStream(dir.resolve("mlp/model.zip"))) {
      net = ModelSerializer.restoreMultiLayerNetwork(in, false);
    }
    Evaluation eval = new Evaluation();
    for (DataSet ds : GraftDatasets.miniBatches(spark.read().parquet(SparkTests.mnistTest()), 500, 784, 10).collect()) {
      eval.eval(ds.getLabels(), net.output(ds.getFeatures()));
    }
    assertThat(eval.accuracy()).isEqualTo(r.testAccuracy());
  }

  @Test
  void resumeAfterDriverDeathContinuesFromTheCheckpointRound() throws Exception {
    String out = dir.resolve("resumed").toUri().toString();
    List<Integer> firstRun = new ArrayList<>();
    JobOptions dying = quiet().withListener((m, net) -> {
      firstRun.add(m.round());
      if (m.round() == 2) {
        throw new IllegalStateException("simulated driver death");
      }
    });
    assertThatThrownBy(() -> PretrainJob.run(config(out, "training.epochs=3"), spark, dying)).hasMessage("simulated driver death");
    assertThat(firstRun).containsExactly(1, 2);
    assertThat(dir.resolve("resumed/model.zip")).doesNotExist();
    assertThat(new Checkpoints(storage, storage.path(out)).load().round()).isEqualTo(2);

    List<Integer> secondRun = new ArrayList<>();
    PretrainJob.Result r = PretrainJob.run(config(out, "training.epochs=3"), spark,
        quiet().withResume(true).withListener((m, net) -> secondRun.add(m.round())));
    assertThat(secondRun).containsExactly(3);
    assertThat(r.resumedFromRound()).isEqualTo(2);
    assertThat(r.history()).extracting(RoundMetrics::round).containsExactly(1, 2, 3);
    assertThat(r.testAccuracy()).isGreaterThan(0.85);
    assertThat(MetricsLog.read(storage, storage.path(out))).hasSize(3);
    assertThat(dir.resolve("resumed/_checkpoint")).doesNotExist();
  }

  @Test
  void aRunThatDiesWhilePublishingItsLastRoundIsPublishedByResumeWithoutTrainingAgain() throws Exception {
    String out = dir.resolve("last-round").toUri().toString();
    List<RoundMetrics> seen = new ArrayList<>();
    assertThatThrownBy(() -> PretrainJob.run(config(out, "training.epochs=1"), spark, quiet().withListener((m, net) -> {
      seen.add(m);
      throw new IllegalStateException("died while publishing");
    }))).hasMessage("died while publishing");
    assertThat(dir.resolve("last-round/model.zip")).doesNotExist();
    List<Integer> rounds = new ArrayList<>();
    PretrainJob.Result r = PretrainJob.run(config(out, "training.epochs=1"), spark,
        quiet().withResume(true).withListener((m, net) -> rounds.add(m.round())));
    assertThat(rounds).as("no round is trained again").isEmpty();
    assertThat(r.testAccuracy()).isEqualTo(seen.get(0).evalAccuracy());
    assertThat(dir.resolve("last-round/model.zip")).exists();
    assertThat(dir.resolve("last-round/_checkpoint")).doesNotExist();
  }

  @Test
  void resumeRefusesWithoutACheckpointOrWithAnotherModel() throws Exception {
    String out = dir.resolve("none").toUri().toString();
    assertThatThrownBy(() -> PretrainJob.validate(config(out), storage, true))
        .isInstanceOf(ConfigException.class)
        .hasMessage("Nothing to resume: no checkpoint at " + storage.path(out) + "/_checkpoint");

    String crashed = dir.resolve("crashed").toUri().toString();
    assertThatThrownBy(() -> PretrainJob.run(config(crashed, "training.epochs=2"), spark, quiet().withListener((m, n) -> {
      throw new IllegalStateException("die");
    }))).hasMessage("die");
    assertThatThrownBy(() -> PretrainJob.validate(config(crashed, "model.hidden=[32]"), storage, true))
        .isInstanceOf(ConfigException.class)
        .hasMessage("Cannot resume: config key 'model.hidden' differs from the checkpoint's (start without --resume to train afresh)");
  }

  @Test
  void labelsOutsideTheModelsClassesFailOrAreSkippedAndCounted() throws Exception {
    // A dataset whose manifest claims 5 classes while its rows hold MNIST's ten digits.
    Path copy = dir.resolve("five");
    try (var files = Files.list(Path.of(URI.create(SparkTests.mnistTest())))) {
      Files.createDirectories(copy);
      for (Path f : files.toList()) {
        Files.copy(f, copy.resolve(f.getFileName()));
      }
    }
    Files.deleteIfExists(copy.resolve("._manifest.json.crc"));
    Manifest m = Manifest.fromJson(Files.readString(copy.resolve(Manifest.FILE_NAME)));
    Manifest five = new Manifest(m.formatVersion(), m.format(), m.featureShape(), m.numFeatures(), 5, m.classNames().subList(0, 5),
        m.rowCount(), m.classCounts(), 0, 0, m.normalisation(), m.sources(), null, null, false, m.createdAt(), null);
    Files.writeString(copy.resolve(Manifest.FILE_NAME), five.toJson());
    String out = dir.resolve("five-model").toUri().toString();
    String uri = copy.toUri().toString();
    long expectedBad = spark.read().parquet(uri).filter("label >= 5").count();

    assertThatThrownBy(() -> PretrainJob.run(config(out, "data.train=" + uri, "data.test=" + uri), spark, quiet()))
        .isInstanceOf(DataException.class)
        .hasMessageStartingWith("Dataset " + uri + ": " + expectedBad + " bad row(s); the first, in file:")
        .hasMessageEndingWith(", outside the model's classes [0, 5) (use --on-bad-record skip to drop them)");
    assertThat(copy.resolve("five-model")).doesNotExist();

    PretrainJob.Result r = PretrainJob.run(config(out, "data.train=" + uri, "data.test=" + uri, "training.epochs=1",
        "training.onBadRecord=skip"), spark, quiet());
    assertThat(r.trainRows()).isEqualTo(2000 - expectedBad);
    assertThat(Provenance.read(storage, storage.path(out)).get("skippedRows").asLong()).isEqualTo(2 * expectedBad);
  }

  @Test
  void inputsThatCannotFeedTheModelAreRefusedBeforeTraining() throws Exception {
    String digits = dir.resolve("digits").toUri().toString();
    ImportJob.run(ImportConfig.of(ImportFormat.DIGITS_CSV, TestData.raw("digits").resolve("digits.csv.gz").toUri().toString(), digits),
        spark, s -> {});
    String out = dir.resolve("m").toUri().toString();

    assertThatThrownBy(() -> PretrainJob.validate(config(out, "data.test=" + digits), storage, false))
        .isInstanceOf(ConfigException.class)
        .hasMessage("Test dataset " + digits + " has 64 features but training dataset " + SparkTests.mnistTrain() + " has 784");
    assertThatThrownBy(() -> PretrainJob.validate(config(out, "data.train=" + digits, "data.test=" + digits, "model.architecture=lenet"),
        storage, false))
        .isInstanceOf(ConfigException.class)
        .hasMessage("The lenet architecture needs images of at least 12x12, the dataset's feature shape is [1, 8, 8]");
    String missing = dir.resolve("missing").toUri().toString();
    assertThatThrownBy(() -> PretrainJob.validate(config(out, "data.train=" + missing), storage, false))
        .isInstanceOf(DataException.class)
        .hasMessage("Cannot use training dataset: Dataset not found: " + storage.path(missing));
    assertThatThrownBy(() -> PretrainJob.validate(config(out, "data.train=" + dir.toUri()), storage, false))
        .hasMessageStartingWith("Cannot use training dataset: Not a Graft dataset: ");
  }
}

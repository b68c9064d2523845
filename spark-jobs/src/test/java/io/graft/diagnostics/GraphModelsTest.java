package io.graft.diagnostics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.graft.config.ConfigException;
import io.graft.data.BadRecordPolicy;
import io.graft.jobs.JobMain;
import io.graft.jobs.importer.ModelImportJob;
import io.graft.ml.GraftModelTransformer;
import io.graft.spark.GraftDatasets;
import io.graft.store.Storage;
import io.graft.testing.SparkTests;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A ComputationGraph (PyTorch's MNIST CNN imported from ONNX) through the jobs that read a model
 * besides fine-tuning: the Spark ML transformer (predictions, probabilities, embeddings, a saved and
 * reloaded PipelineModel), divergence on a vertex's features and the per-group probe.
 */
class GraphModelsTest {
  static final SparkSession SPARK = SparkTests.spark();
  static final Storage STORAGE = new Storage(SPARK.sparkContext().hadoopConfiguration());
  @TempDir static Path shared;
  static String cnn;

  @BeforeAll
  static void importCnn() {
    Path onnx = Path.of("..", "common", "src", "test", "resources", "onnx", "mnist-cnn.onnx").toAbsolutePath();
    cnn = shared.resolve("mnist-cnn").toString();
    assertThat(JobMain.run(ModelImportJob.JOB, "--format", "onnx", "--input", onnx.toString(), "--output", cnn, "--mean", "0.1307", "--std",
        "0.3081")).isZero();
  }

  private static Dataset<Row> rows(int n) {
    return SPARK.read().parquet(SparkTests.mnistTest()).select(GraftDatasets.FEATURES, GraftDatasets.LABEL).limit(n);
  }

  @Test
  void theTransformerPredictsWhatEvaluateScoresAndSurvivesAPipelineSaveAndLoad() throws Exception {
    GraftModelTransformer t = GraftModelTransformer.fromModel(STORAGE, cnn).setEmbeddingLayer("fc1").setBatchSize(100);
    assertThat(t.inputSize()).isEqualTo(784);
    List<Row> out = t.transform(rows(2000)).collectAsList();
    long correct = out.stream().filter(r -> r.getDouble(2) == r.getInt(1)).count();
    double accuracy = EvaluateJob.run(new EvaluateJob.Request(cnn, SparkTests.mnistTest(), null, BadRecordPolicy.FAIL), SPARK).accuracy();
    assertThat(correct / 2000.0).isEqualTo(accuracy);
    assertThat(((Vector) out.get(0).get(3)).size()).isEqualTo(10);
    assertThat(((Vector) out.get(0).get(4)).size()).isEqualTo(64);

    String path = shared.resolve("pipeline").toString();
    PipelineModel model = new Pipeline().setStages(new PipelineStage[] {GraftModelTransformer.fromModel(STORAGE, cnn)}).fit(rows(20));
    model.write().overwrite().save(path);
    List<Row> before = model.transform(rows(20)).select("prediction", "probability").collectAsList();
    List<Row> after = PipelineModel.load(path).transform(rows(20)).select("prediction", "probability").collectAsList();
    assertThat(after).isEqualTo(before);

    assertThatThrownBy(() -> GraftModelTransformer.fromModel(STORAGE, cnn).setEmbeddingLayer("fc9").transform(rows(5)))
        .hasMessageContaining("embeddingLayer 'fc9' not found").hasMessageContaining("fc1");
  }

  /** MNIST against MNIST and against Fashion-MNIST through the CNN's fc1 features: the second pair is told apart, the first is not. */
  @Test
  void divergenceThroughAVertexTellsTwoDomainsApart() throws Exception {
    ProxyADistance.Options quick = new ProxyADistance.Options(new double[] {1e-2, 1.0}, 200, 50, 1);
    DivergenceJob.Output same = DivergenceJob.run(new DivergenceJob.Request(SparkTests.mnistTest(), SparkTests.mnistTrain(), cnn, "fc1", 300,
        "mnist vs mnist", null, quick), SPARK);
    DivergenceJob.Output apart = DivergenceJob.run(new DivergenceJob.Request(SparkTests.mnistTest(), SparkTests.fashionTest(), cnn, "fc1", 300,
        "mnist vs fashion", null, quick), SPARK);
    assertThat(same.features()).isEqualTo("fc1");
    assertThat(apart.result().aDistance()).isGreaterThan(1.5).isGreaterThan(same.result().aDistance() + 1.0);

    assertThatThrownBy(() -> DivergenceJob.validate(new DivergenceJob.Request(SparkTests.mnistTest(), SparkTests.fashionTest(), cnn, "fc9",
        100, null, null, quick), STORAGE)).isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("Cannot compute divergence: vertex 'fc9' not found in model").hasMessageContaining("fc1");
  }

  @Test
  void theProbeReadsEachGroupsOutputAndRecommendsByGroup() throws Exception {
    ProbeJob.Output o = ProbeJob.run(new ProbeJob.Request(cnn, SparkTests.mnistTrain(), SparkTests.mnistTest(), 20, 500, List.of(), 0.01,
        new double[] {1e-2}, 40, 3, null, null), SPARK, line -> { });
    assertThat(o.layers()).extracting(ProbeJob.LayerProbe::layer).containsExactly("input", "conv1", "conv2", "fc1");
    assertThat(o.layers()).extracting(ProbeJob.LayerProbe::width).containsExactly(784L, 8L * 24 * 24, 16L * 8 * 8, 64L);
    // on the task it was trained for, the top features are the best: keep the trunk, train a head
    assertThat(o.layers().get(3).accuracy()).isGreaterThan(o.layers().get(0).accuracy() + 0.05);
    assertThat(o.recommendation().trainFrom()).isEqualTo("head");
  }
}

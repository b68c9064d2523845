package io.graft.ml;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.graft.config.ConfigException;
import io.graft.spark.GraftDatasets;
import io.graft.store.Storage;
import io.graft.surgery.Surgery;
import io.graft.testing.SparkTests;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.assertj.core.data.Offset;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class GraftModelTransformerTest {
  final SparkSession spark = SparkTests.spark();
  final Storage storage = new Storage(spark.sparkContext().hadoopConfiguration());
  @TempDir Path dir;

  private Dataset<Row> rows(int n) {
    return spark.read().parquet(SparkTests.mnistTest()).select(GraftDatasets.FEATURES, GraftDatasets.LABEL).limit(n);
  }

  @Test
  void predictionsProbabilitiesAndEmbeddingsEqualTheModelsOwnOutput() {
    MultiLayerNetwork net = Surgery.load(storage, SparkTests.lenetSource()).network();
    GraftModelTransformer t = new GraftModelTransformer(net).setEmbeddingLayer("dense1").setBatchSize(7);
    List<Row> out = t.transform(rows(40)).collectAsList();
    assertThat(out).hasSize(40);
    float[][] x = new float[40][];
    for (int i = 0; i < 40; i++) {
      List<Float> f = out.get(i).getList(0);
      x[i] = new float[f.size()];
      for (int j = 0; j < x[i].length; j++) {
        x[i][j] = f.get(j);
      }
    }
    INDArray input = Nd4j.create(x);
    INDArray expected = net.output(input, false);
    INDArray dense = net.feedForwardToLayer(Surgery.indexOf(net, "dense1", "test"), input, false).get(Surgery.indexOf(net, "dense1", "test") + 1);
    for (int i = 0; i < 40; i++) {
      Row r = out.get(i);
      assertThat(r.getDouble(2)).isEqualTo((double) expected.getRow(i).argMax().getInt(0));
      double[] p = ((Vector) r.get(3)).toArray();
      double[] e = ((Vector) r.get(4)).toArray();
      for (int k = 0; k < 10; k++) {
        // float32 probabilities from minibatches of 7 and of 40: oneDNN's convolutions round differently by batch
        assertThat(p[k]).isCloseTo(expected.getDouble(i, k), Offset.offset(1e-5));
      }
      assertThat(e).hasSize(64);
      for (int k = 0; k < 64; k++) {
        assertThat(e[k]).isCloseTo(dense.getDouble(i, k), Offset.offset(1e-5));
      }
    }
  }

  @Test
  void itSavesAndLoadsInsideASparkMlPipeline() throws Exception {
    GraftModelTransformer t = GraftModelTransformer.fromModel(storage, SparkTests.lenetSource()).setPredictionCol("digit");
    PipelineModel model = new Pipeline().setStages(new PipelineStage[] {t}).fit(rows(20));
    String path = dir.resolve("pipeline").toString();
    model.write().overwrite().save(path);
    assertThat(Files.exists(dir.resolve("pipeline/stages/0_" + t.uid() + "/model.zip"))).isTrue();
    PipelineModel loaded = PipelineModel.load(path);
    assertThat(loaded.stages()[0]).isInstanceOf(GraftModelTransformer.class);
    List<Row> before = model.transform(rows(20)).select("digit", "probability").collectAsList();
    List<Row> after = loaded.transform(rows(20)).select("digit", "probability").collectAsList();
    assertThat(after).isEqualTo(before);
  }

  @Test
  void badColumnsAndLayersAreNamed() {
    GraftModelTransformer t = GraftModelTransformer.fromModel(storage, SparkTests.lenetSource());
    assertThatThrownBy(() -> t.copy(new ParamMap()).setFeaturesCol("pixels").transform(rows(5)))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("featuresCol 'pixels' not found (columns: features, label)");
    assertThatThrownBy(() -> t.copy(new ParamMap()).setEmbeddingLayer("dense9").transform(rows(5)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("embeddingLayer 'dense9' not found in model (layers: conv1, ");
    assertThatThrownBy(() -> t.copy(new ParamMap()).setFeaturesCol("label").transform(rows(5)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("featuresCol 'label' is int; expected array<float>, array<double> or vector");
  }

  @Test
  void predictWritesParquetAtomicallyAndRefusesToClobber() throws Exception {
    String out = dir.resolve("pred").toString();
    PredictJob.Result r = PredictJob.run(new PredictJob.Request(SparkTests.lenetSource(), SparkTests.mnistTest(), out, null, null, false),
        spark);
    assertThat(r.rows()).isEqualTo(2000);
    Dataset<Row> written = spark.read().parquet(out);
    assertThat(written.columns()).contains("features", "label", "prediction", "probability");
    long correct = written.filter("cast(label as double) = prediction").count();
    assertThat(correct).isGreaterThan(1600);
    assertThatThrownBy(() -> PredictJob.validate(new PredictJob.Request(SparkTests.lenetSource(), SparkTests.mnistTest(), out, null, null,
        false), storage)).isInstanceOf(ConfigException.class).hasMessage("Output " + out + " exists (use --overwrite to replace it)");
    assertThatThrownBy(() -> PredictJob.validate(new PredictJob.Request(SparkTests.lenetSource(), SparkTests.digits8(),
        dir.resolve("p2").toString(), null, null, false), storage)).isInstanceOf(ConfigException.class)
        .hasMessage("Cannot predict: dataset " + SparkTests.digits8() + " has 64 features but model " + SparkTests.lenetSource() + " takes 784 inputs");
  }
}

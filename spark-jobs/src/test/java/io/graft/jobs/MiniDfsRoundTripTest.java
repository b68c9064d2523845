package io.graft.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.graft.cli.GraftCli;
import io.graft.config.ConfigLoader;
import io.graft.data.ImportFormat;
import io.graft.data.Manifest;
import io.graft.data.image.ImageEncoder;
import io.graft.engine.JobOptions;
import io.graft.jobs.export.ImageExportJob;
import io.graft.jobs.importer.ImportConfig;
import io.graft.jobs.importer.ImportJob;
import io.graft.jobs.pretrain.PretrainConfig;
import io.graft.jobs.pretrain.PretrainJob;
import io.graft.pipeline.PipelineLock;
import io.graft.store.Provenance;
import io.graft.store.Storage;
import io.graft.testing.SparkTests;
import io.graft.testing.TestData;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Raw files on HDFS, imported to HDFS, pre-trained from HDFS, model written back to HDFS. */
class MiniDfsRoundTripTest {
  static MiniDFSCluster cluster;
  static String hdfs;
  @TempDir static Path base;

  @BeforeAll
  static void startHdfs() throws Exception {
    cluster = SparkTests.miniDfs(base, 1);
    hdfs = "hdfs://127.0.0.1:" + cluster.getNameNodePort();
  }

  @AfterAll
  static void stopHdfs() {
    if (cluster != null) {
      cluster.shutdown(true);
    }
  }

  @Test
  void importPretrainAndModelRoundTripThroughHdfs() throws Exception {
    SparkSession spark = SparkTests.spark();
    Storage storage = new Storage(spark.sparkContext().hadoopConfiguration());
    FileSystem fs = FileSystem.get(URI.create(hdfs), spark.sparkContext().hadoopConfiguration());
    Path raw = TestData.raw("mnist");
    for (String f : List.of("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")) {
      fs.copyFromLocalFile(new org.apache.hadoop.fs.Path(raw.resolve(f).toUri()), new org.apache.hadoop.fs.Path(hdfs + "/raw/mnist/" + f));
    }

    String dataset = hdfs + "/graft/mnist-test";
    Manifest m = ImportJob.run(ImportConfig.of(ImportFormat.IDX, hdfs + "/raw/mnist/t10k-images-idx3-ubyte", dataset)
        .withClasses(10, List.of()).withLimit(4000), spark, s -> {}).manifest();
    assertThat(m.rowCount()).isEqualTo(4000);
    assertThat(m.sources().get(0).uri()).startsWith(hdfs + "/raw/mnist/");
    assertThat(fs.exists(new org.apache.hadoop.fs.Path(dataset + "/_manifest.json"))).isTrue();

    String output = hdfs + "/graft/models/mlp";
    PretrainConfig config = ConfigLoader.load(null, List.of("data.train=" + dataset, "model.architecture=mlp", "model.hidden=[64]",
        "training.epochs=2", "training.batchSizePerWorker=32", "optimizer.learningRate=0.003", "output=" + output), PretrainConfig.class);
    PretrainJob.Result r = PretrainJob.run(config, spark, JobOptions.quiet());
    assertThat(r.testAccuracy()).isGreaterThan(0.8);

    MultiLayerNetwork net;
    try (InputStream in = fs.open(new org.apache.hadoop.fs.Path(output + "/model.zip"))) {
      net = ModelSerializer.restoreMultiLayerNetwork(in, true);
    }
    assertThat(net.getLayerWiseConfigurations().getConf(0).getLayer().getLayerName()).isEqualTo("dense1");
    JsonNode prov = Provenance.read(storage, new org.apache.hadoop.fs.Path(output));
    assertThat(prov.at("/inputs/train/uri").asText()).isEqualTo(dataset);
    assertThat(prov.at("/metrics/test_accuracy").asDouble()).isEqualTo(r.testAccuracy());
    assertThat(fs.exists(new org.apache.hadoop.fs.Path(output + "/metrics.jsonl"))).isTrue();
    // the export work folder and checkpoint lived on HDFS beside the output and are gone now
    assertThat(fs.exists(new org.apache.hadoop.fs.Path(output + "/_work"))).isFalse();
    assertThat(fs.exists(new org.apache.hadoop.fs.Path(output + "/_checkpoint"))).isFalse();
  }

  @Test
  void imageFilesOnHdfsImportThroughTheCliToHdfsPixelForPixel() throws Exception {
    SparkSession spark = SparkTests.spark();
    String images = hdfs + "/raw/mnist-png";
    // 80 files: each small file written to the in-JVM HDFS waits about 0.2 s for its DataNode's ack
    ImageExportJob.run(new ImageExportJob.Spec(SparkTests.mnistTest(), images,
        ImageExportJob.Layout.FOLDER, ImageEncoder.Encoding.PNG, 80, 1, false, 1), spark, s -> {});
    String dataset = hdfs + "/graft/mnist-png";
    assertThat(GraftCli.run("import", "--format", "image-folder", "--input", images, "--output", dataset)).isEqualTo(GraftCli.EXIT_BAD_INPUT);
    assertThat(GraftCli.run("import", "--format", "image-folder", "--input", images, "--output", dataset, "--on-bad-record", "skip")).isZero();
    Manifest m = Manifest.read(new Storage(spark.sparkContext().hadoopConfiguration()), new org.apache.hadoop.fs.Path(dataset));
    assertThat(m.rowCount()).isEqualTo(80);
    assertThat(m.skippedRows()).isEqualTo(1);
    assertThat(m.sources().get(0).uri()).isEqualTo(images);
    Function<Dataset<Row>, Map<String, Long>> pixels = d -> d
        .selectExpr("concat(label, ':', cast(features as string)) as k").groupBy("k").count().collectAsList().stream()
        .collect(Collectors.toMap(r -> r.getString(0), r -> r.getLong(1)));
    Dataset<Row> all = spark.read().parquet(SparkTests.mnistTest());
    Dataset<Row> first = spark.createDataFrame(
        all.javaRDD().zipWithIndex().filter(t -> t._2() < 80).map(t -> t._1()), all.schema());
    assertThat(pixels.apply(spark.read().parquet(dataset))).isEqualTo(pixels.apply(first));
  }

  @Test
  void aPipelineWithItsRootOnHdfsLocksThereSkipsOnRerunAndPublishes() throws Exception {
    SparkSession spark = SparkTests.spark();
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    FileSystem fs = FileSystem.get(URI.create(hdfs), conf);
    fs.copyFromLocalFile(new org.apache.hadoop.fs.Path(TestData.raw("digits").resolve("digits.csv.gz").toUri()),
        new org.apache.hadoop.fs.Path(hdfs + "/raw/digits/digits.csv.gz"));
    Path file = Files.writeString(base.resolve("hdfs-pipeline.yaml"), """
        stages:
          - {name: digits, type: import, args: {format: digits-csv, input: "%s/raw/digits/digits.csv.gz", num-classes: 10}, publish: data/digits}
        """.formatted(hdfs));
    String root = hdfs + "/pipelines/digits";
    Storage storage = new Storage(conf);
    org.apache.hadoop.fs.Path lock = storage.path(root + "/_graft/lock");

    try (PipelineLock held = PipelineLock.acquire(storage, lock, "other-run", Duration.ofMinutes(10), s -> {})) {
      assertThat(GraftCli.run("pipeline", "run", file.toString(), "--root", root)).isEqualTo(GraftCli.EXIT_LOCK_HELD);
    }
    // a lock left by a run on another host whose heartbeat stopped 20 minutes ago is taken over
    try (var out = fs.create(lock, false)) {
      out.write("{\"runId\":\"dead\",\"host\":\"gone-host\",\"pid\":7,\"started\":\"2026-11-26T00:00:00Z\"}".getBytes());
    }
    fs.setTimes(lock, System.currentTimeMillis() - Duration.ofMinutes(20).toMillis(), -1);
    Path summary = base.resolve("hdfs-summary.json");
    assertThat(GraftCli.run("pipeline", "run", file.toString(), "--root", root, "--summary", summary.toString())).isZero();
    assertThat(fs.exists(lock)).isFalse();
    assertThat(fs.exists(new org.apache.hadoop.fs.Path(root + "/data/digits/_manifest.json"))).isTrue();
    assertThat(fs.exists(new org.apache.hadoop.fs.Path(root + "/_graft/runs/latest.json"))).isTrue();
    assertThat(GraftCli.run("pipeline", "run", file.toString(), "--root", root, "--summary", summary.toString())).isZero();
    assertThat(new ObjectMapper().readTree(summary.toFile()).path("stages").findValuesAsText("action")).containsExactly("skip");
  }
}

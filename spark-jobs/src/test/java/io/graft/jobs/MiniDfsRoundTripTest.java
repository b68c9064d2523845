package io.graft.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.graft.config.ConfigLoader;
import io.graft.data.ImportFormat;
import io.graft.data.Manifest;
import io.graft.jobs.importer.ImportConfig;
import io.graft.jobs.importer.ImportJob;
import io.graft.jobs.pretrain.PretrainConfig;
import io.graft.jobs.pretrain.PretrainJob;
import io.graft.store.Provenance;
import io.graft.store.Storage;
import io.graft.testing.SparkTests;
import io.graft.testing.TestData;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
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
    Configuration conf = new Configuration();
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, base.toAbsolutePath().toString());
    conf.set("dfs.namenode.rpc-address", "127.0.0.1:0");
    conf.set("dfs.datanode.address", "127.0.0.1:0");
    conf.set("dfs.datanode.http.address", "127.0.0.1:0");
    conf.set("dfs.datanode.ipc.address", "127.0.0.1:0");
    conf.set("dfs.namenode.http-address", "127.0.0.1:0");
    cluster = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
    cluster.waitActive();
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
    FileSystem fs = FileSystem.get(java.net.URI.create(hdfs), spark.sparkContext().hadoopConfiguration());
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
    PretrainJob.Result r = PretrainJob.run(config, spark, io.graft.engine.JobOptions.quiet());
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
}

package io.graft.testing;

import io.graft.config.ConfigLoader;
import io.graft.data.ImportFormat;
import io.graft.engine.JobOptions;
import io.graft.jobs.importer.ImportConfig;
import io.graft.jobs.importer.ImportJob;
import io.graft.jobs.pretrain.PretrainConfig;
import io.graft.jobs.pretrain.PretrainJob;
import io.graft.spark.GraftSpark;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.spark.sql.SparkSession;

/**
 * One local[2] SparkSession for the whole test JVM (UI off, loopback), and small real datasets
 * imported once through the real import job and shared by the test classes.
 */
public final class SparkTests {
  private static SparkSession spark;
  private static Path work;
  private static String mnistTrain;
  private static String mnistTest;

  private static String mnistTestAll;
  private static String fashionTrain;
  private static String fashionTest;
  private static String lenetSource;
  private static String digits28;
  private static String digits8;

  private SparkTests() {}

  /** The first 3,000 Fashion-MNIST training images. */
  public static synchronized String fashionTrain() {
    if (fashionTrain == null) {
      fashionTrain = importIdx("fashion-mnist", "train-images-idx3-ubyte.gz", "fashion-train-3k", 3_000);
    }
    return fashionTrain;
  }

  /** The first 1,000 Fashion-MNIST test images. */
  public static synchronized String fashionTest() {
    if (fashionTest == null) {
      fashionTest = importIdx("fashion-mnist", "t10k-images-idx3-ubyte.gz", "fashion-test-1k", 1_000);
    }
    return fashionTest;
  }

  /** A LeNet with batch normalisation pre-trained for one round on 6,000 MNIST images (a real source model). */
  public static synchronized String lenetSource() {
    if (lenetSource == null) {
      String out = work().resolve("lenet-bn-source").toUri().toString();
      PretrainConfig config = ConfigLoader.load(null, List.of("data.train=" + mnistTrain(),
          "data.test=" + mnistTest(), "model.architecture=lenet", "model.batchNorm=true", "model.convChannels=[8, 16]", "model.dense=64",
          "training.epochs=1", "training.batchSizePerWorker=32", "output=" + out), PretrainConfig.class);
      try {
        PretrainJob.run(config, spark(), JobOptions.quiet());
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
      lenetSource = out;
    }
    return lenetSource;
  }

  /** All 1,797 UCI 8x8 digits at their own size. */
  public static synchronized String digits8() {
    if (digits8 == null) {
      String out = work().resolve("digits8").toUri().toString();
      try {
        ImportJob.run(ImportConfig.of(ImportFormat.DIGITS_CSV, TestData.raw("digits").resolve("digits.csv.gz").toUri().toString(), out)
            .withClasses(10, List.of()), spark(), line -> System.out.println("[test-import] " + line));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      digits8 = out;
    }
    return digits8;
  }

  /** All 1,797 UCI 8x8 digits, upsampled to 20x20 and padded to 28x28 (MNIST's layout). */
  public static synchronized String digits28() {
    if (digits28 == null) {
      String out = work().resolve("digits28").toUri().toString();
      try {
        ImportJob.run(ImportConfig.of(ImportFormat.DIGITS_CSV, TestData.raw("digits").resolve("digits.csv.gz").toUri().toString(), out)
            .withClasses(10, List.of()).withResize(20, 20, 4), spark(), line -> System.out.println("[test-import] " + line));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      digits28 = out;
    }
    return digits28;
  }

  /**
   * HDFS on loopback: a NameNode and {@code dataNodes} DataNodes (replication capped at that count)
   * storing under {@code base}, every port chosen free; {@code shutdown()} it when done.
   */
  public static MiniDFSCluster miniDfs(Path base, int dataNodes) throws IOException {
    Configuration conf = new Configuration();
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, base.toAbsolutePath().toString());
    for (String key : List.of("dfs.namenode.rpc-address", "dfs.namenode.http-address", "dfs.datanode.address", "dfs.datanode.http.address",
        "dfs.datanode.ipc.address")) {
      conf.set(key, "127.0.0.1:0");
    }
    conf.setInt("dfs.replication", Math.min(3, dataNodes));
    MiniDFSCluster cluster = new MiniDFSCluster.Builder(conf).numDataNodes(dataNodes).build();
    cluster.waitActive();
    return cluster;
  }

  private static String importIdx(String dataset, String images, String name, long rows) {
    Path raw = TestData.raw(dataset);
    String out = work().resolve(name).toUri().toString();
    try {
      ImportJob.run(ImportConfig.of(ImportFormat.IDX, raw.resolve(images).toUri().toString(), out).withClasses(10, List.of()).withLimit(rows),
          spark(), line -> System.out.println("[test-import] " + line));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  public static synchronized SparkSession spark() {
    if (spark == null) {
      spark = GraftSpark.session("graft-tests", "local[2]", Map.of("spark.ui.enabled", "false", "spark.sql.shuffle.partitions", "2"));
    }
    return spark;
  }

  public static synchronized Path work() {
    if (work == null) {
      try {
        work = Files.createTempDirectory("graft-tests-");
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return work;
  }

  /** The first 6,000 MNIST training images as a Graft dataset. */
  public static synchronized String mnistTrain() {
    if (mnistTrain == null) {
      mnistTrain = importMnist("train-images-idx3-ubyte", "mnist-train-6k", 6_000);
    }
    return mnistTrain;
  }

  /** The first 2,000 MNIST test images as a Graft dataset. */
  public static synchronized String mnistTest() {
    if (mnistTest == null) {
      mnistTest = importMnist("t10k-images-idx3-ubyte", "mnist-test-2k", 2_000);
    }
    return mnistTest;
  }

  /** All 10,000 MNIST test images as a Graft dataset. */
  public static synchronized String mnistTestAll() {
    if (mnistTestAll == null) {
      mnistTestAll = importMnist("t10k-images-idx3-ubyte", "mnist-test-10k", 10_000);
    }
    return mnistTestAll;
  }

  private static String importMnist(String images, String name, long rows) {
    return importIdx("mnist", images, name, rows);
  }
}

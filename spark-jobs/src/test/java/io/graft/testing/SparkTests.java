package io.graft.testing;

import io.graft.data.ImportFormat;
import io.graft.jobs.importer.ImportConfig;
import io.graft.jobs.importer.ImportJob;
import io.graft.spark.GraftSpark;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
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

  private SparkTests() {}

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

  private static String importMnist(String images, String name, long rows) {
    Path raw = TestData.raw("mnist");
    String out = work().resolve(name).toUri().toString();
    try {
      ImportJob.run(ImportConfig.of(ImportFormat.IDX, raw.resolve(images).toUri().toString(), out).withClasses(10, List.of()).withLimit(rows),
          spark(), line -> System.out.println("[test-import] " + line));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }
}

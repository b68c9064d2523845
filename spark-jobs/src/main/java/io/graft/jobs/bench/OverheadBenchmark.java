package io.graft.jobs.bench;

import io.graft.config.ConfigLoader;
import io.graft.data.Manifest;
import io.graft.engine.JobOptions;
import io.graft.engine.RoundMetrics;
import io.graft.jobs.pretrain.PretrainConfig;
import io.graft.jobs.pretrain.PretrainJob;
import io.graft.model.Architectures;
import io.graft.platform.Host;
import io.graft.spark.GraftDatasets;
import io.graft.store.Storage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.dataset.DataSet;

/**
 * {@code graft bench-overhead}: what distributed pre-training costs against plain single-JVM DL4J
 * on the same cores. The same LeNet, the same rows (the first {@code rows} of the dataset; the
 * next tenth scores every variant) and the same minibatch size are trained three ways in one run:
 * DL4J's own {@code fit} in the driver JVM (no Spark), {@code graft pretrain} on
 * dl4j-spark's ParameterAveragingTrainingMaster, and on Graft's averaging (barrier rounds). Each
 * Spark run trains {@code epochs} rounds and its last round is timed (the first includes one-off
 * work: dl4j-spark's export of the batches, network creation on the executors).
 */
public final class OverheadBenchmark {
  private OverheadBenchmark() {}

  /**
   * @param train Graft dataset to train on
   * @param rows rows used (the first, in file order, for every variant)
   * @param batchSize minibatch size, per worker on Spark
   * @param averagingFrequency minibatches between averagings on Spark
   * @param epochs rounds per Spark run (the last is timed); the single-JVM fit times its last epoch too
   */
  public record Spec(String train, long rows, int batchSize, int averagingFrequency, int epochs, Path work, Path report) {}

  /**
   * One row of the table: what was timed, on which engine (for the Spark variants, the one the
   * run's provenance says trained it), the samples of the timed epoch and its rate.
   */
  public record Variant(String name, String engine, long samples, double samplesPerSecond, double testAccuracy) {}

  /** Samples per second of each variant's timed epoch. */
  public record Result(Variant singleJvmFit, Variant dl4jSparkRun, Variant graftRun) {
    public double singleJvm() {
      return singleJvmFit.samplesPerSecond();
    }

    public double dl4jSpark() {
      return dl4jSparkRun.samplesPerSecond();
    }

    public double graft() {
      return graftRun.samplesPerSecond();
    }
  }

  public static Result run(Spec spec, SparkSession spark, Consumer<String> log) throws Exception {
    Storage storage = new Storage(spark.sparkContext().hadoopConfiguration());
    Manifest m = GraftDatasets.manifest(storage, spec.train(), "training");
    // Every variant trains on the same first `rows` rows and is scored on the rows after them.
    long testRows = Math.max(100, spec.rows() / 10);
    String subset = writeRows(spark, storage, spec, "rows", 0, spec.rows());
    String test = writeRows(spark, storage, spec, "test", spec.rows(), testRows);

    PretrainConfig base = config(spec, subset, test, "dl4j-spark", spec.work().resolve("dl4j-spark"));
    List<DataSet> batches = GraftDatasets.miniBatches(spark.read().parquet(subset).coalesce(1), spec.batchSize(), m.numFeatures(),
        m.numClasses()).collect();
    MultiLayerNetwork net = new MultiLayerNetwork(Architectures.build(base.model(), m.featureShape(), m.numClasses(), base.optimizer(),
        base.training().seed()));
    net.init();
    double single = 0;
    long singleSamples = 0;
    for (int epoch = 1; epoch <= spec.epochs(); epoch++) {
      long t0 = System.nanoTime();
      singleSamples = 0;
      for (DataSet b : batches) {
        net.fit(b);
        singleSamples += b.numExamples();
      }
      single = singleSamples / ((System.nanoTime() - t0) / 1e9);
      log.accept(String.format(Locale.ROOT, "[bench] single-JVM DL4J fit, epoch %d: %.0f samples/s", epoch, single));
    }
    Evaluation eval = net.evaluate(new ListDataSetIterator<>(GraftDatasets.miniBatches(spark.read().parquet(test).coalesce(1), 256,
        m.numFeatures(), m.numClasses()).collect()));
    Variant singleJvm = new Variant("single-JVM DL4J `fit`, no Spark", "none", singleSamples, single, eval.accuracy());

    Variant dl4j = sparkVariant("`graft pretrain`, dl4j-spark ParameterAveragingTrainingMaster", base, spark, log);
    Variant graft = sparkVariant("`graft pretrain`, Graft averaging (barrier rounds)",
        config(spec, subset, test, "graft", spec.work().resolve("graft")), spark, log);
    Result r = new Result(singleJvm, dl4j, graft);
    StringBuilder md = new StringBuilder("| variant | engine | samples timed | samples/s (last epoch) | vs single-JVM | test accuracy |\n"
        + "|---|---|---|---|---|---|\n");
    for (Variant v : List.of(singleJvm, dl4j, graft)) {
      md.append(String.format(Locale.ROOT, "| %s | %s | %,d | %.0f | %.2fx | %.2f %% |%n", v.name(), v.engine(), v.samples(),
          v.samplesPerSecond(), v.samplesPerSecond() / single, 100 * v.testAccuracy()));
    }
    md.append(String.format(Locale.ROOT, "%n%,d rows of %s (scored on the next %,d), LeNet (%s), batch %d (per worker on Spark), "
        + "averaging every %d, %d epochs per variant; %s on %s.%n", spec.rows(), spec.train(), testRows, base.model().architecture(),
        spec.batchSize(), spec.averagingFrequency(), spec.epochs(), spark.sparkContext().master(), Host.describe()));
    Files.writeString(spec.report(), md.toString());
    log.accept(md.toString());
    return r;
  }

  private static Variant sparkVariant(String name, PretrainConfig config, SparkSession spark, Consumer<String> log) throws Exception {
    PretrainJob.Result run = PretrainJob.run(config, spark, JobOptions.quiet());
    RoundMetrics last = run.history().get(run.history().size() - 1);
    log.accept(String.format(Locale.ROOT, "[bench] %s: %.0f samples/s (last round), test accuracy %.2f%%", name, last.samplesPerSecond(),
        100 * run.testAccuracy()));
    return new Variant(name, run.engine(), last.samples(), last.samplesPerSecond(), run.testAccuracy());
  }

  /** Rows [from, from + count) of the training set in file order, written with its manifest. */
  private static String writeRows(SparkSession spark, Storage storage, Spec spec, String name, long from, long count) throws IOException {
    String uri = spec.work().resolve(name).toUri().toString();
    spark.read().parquet(spec.train()).limit((int) (from + count)).offset((int) from).write().mode("overwrite").parquet(uri);
    storage.writeString(new org.apache.hadoop.fs.Path(storage.path(uri), Manifest.FILE_NAME),
        storage.readString(new org.apache.hadoop.fs.Path(storage.path(spec.train()), Manifest.FILE_NAME)));
    return uri;
  }

  private static PretrainConfig config(Spec spec, String data, String test, String engine, Path out) {
    List<String> sets = new ArrayList<>(List.of("data.train=" + data, "data.test=" + test, "model.architecture=lenet",
        "training.epochs=" + spec.epochs(),
        "training.batchSizePerWorker=" + spec.batchSize(), "training.averagingFrequency=" + spec.averagingFrequency(),
        "training.engine=" + engine, "output=" + out.toUri()));
    return ConfigLoader.load(null, sets, PretrainConfig.class);
  }
}

package io.graft.jobs.bench;

import io.graft.config.ConfigLoader;
import io.graft.data.Manifest;
import io.graft.engine.JobOptions;
import io.graft.engine.RoundMetrics;
import io.graft.jobs.pretrain.PretrainConfig;
import io.graft.jobs.pretrain.PretrainJob;
import io.graft.model.Architectures;
import io.graft.spark.GraftDatasets;
import io.graft.store.Storage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.dataset.DataSet;

/**
 * {@code graft bench-overhead}: what distributed pre-training costs against plain single-JVM DL4J
 * on the same cores. The same LeNet, the same rows and the same minibatch size are trained three
 * ways in one run: DL4J's own {@code fit} in the driver JVM (no Spark), {@code graft pretrain} on
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

  /** Samples per second of each variant's timed epoch. */
  public record Result(double singleJvm, double dl4jSpark, double graft, double dl4jSparkAccuracy, double graftAccuracy) {}

  public static Result run(Spec spec, SparkSession spark, Consumer<String> log) throws Exception {
    Storage storage = new Storage(spark.sparkContext().hadoopConfiguration());
    Manifest m = GraftDatasets.manifest(storage, spec.train(), "training");
    String subset = spec.work().resolve("rows").toUri().toString();
    spark.read().parquet(spec.train()).limit((int) spec.rows()).write().mode("overwrite").parquet(subset);
    storage.writeString(new org.apache.hadoop.fs.Path(storage.path(subset), "_manifest.json"),
        storage.readString(new org.apache.hadoop.fs.Path(storage.path(spec.train()), "_manifest.json")));

    PretrainConfig base = config(spec, subset, "dl4j-spark", spec.work().resolve("dl4j-spark"));
    List<DataSet> batches = GraftDatasets.miniBatches(spark.read().parquet(subset).coalesce(1), spec.batchSize(), m.numFeatures(),
        m.numClasses()).collect();
    MultiLayerNetwork net = new MultiLayerNetwork(Architectures.build(base.model(), m.featureShape(), m.numClasses(), base.optimizer(),
        base.training().seed()));
    net.init();
    double single = 0;
    for (int epoch = 1; epoch <= spec.epochs(); epoch++) {
      long t0 = System.nanoTime();
      long n = 0;
      for (DataSet b : batches) {
        net.fit(b);
        n += b.numExamples();
      }
      single = n / ((System.nanoTime() - t0) / 1e9);
      log.accept(String.format(Locale.ROOT, "[bench] single-JVM DL4J fit, epoch %d: %.0f samples/s", epoch, single));
    }
    PretrainJob.Result dl4j = PretrainJob.run(base, spark, JobOptions.quiet());
    double dl4jRate = last(dl4j.history());
    log.accept(String.format(Locale.ROOT, "[bench] graft pretrain, dl4j-spark: %.0f samples/s (last round), test accuracy %.2f%%", dl4jRate,
        100 * dl4j.testAccuracy()));
    PretrainJob.Result graft = PretrainJob.run(config(spec, subset, "graft", spec.work().resolve("graft")), spark, JobOptions.quiet());
    double graftRate = last(graft.history());
    log.accept(String.format(Locale.ROOT, "[bench] graft pretrain, Graft averaging: %.0f samples/s (last round), test accuracy %.2f%%",
        graftRate, 100 * graft.testAccuracy()));
    Result r = new Result(single, dl4jRate, graftRate, dl4j.testAccuracy(), graft.testAccuracy());
    String md = String.format(Locale.ROOT, """
        | variant | samples/s (last epoch) | vs single-JVM |
        |---|---|---|
        | single-JVM DL4J `fit`, no Spark | %.0f | 1.00x |
        | `graft pretrain`, dl4j-spark ParameterAveragingTrainingMaster | %.0f | %.2fx |
        | `graft pretrain`, Graft averaging (barrier rounds) | %.0f | %.2fx |

        %,d rows of %s, LeNet (%s), batch %d (per worker on Spark), averaging every %d, %d epochs per variant; %s.
        """, single, dl4jRate, dl4jRate / single, graftRate, graftRate / single, spec.rows(), spec.train(),
        base.model().architecture(), spec.batchSize(), spec.averagingFrequency(), spec.epochs(), spark.sparkContext().master());
    Files.writeString(spec.report(), md);
    log.accept(md);
    return r;
  }

  private static double last(List<RoundMetrics> history) {
    return history.get(history.size() - 1).samplesPerSecond();
  }

  private static PretrainConfig config(Spec spec, String data, String engine, Path out) {
    List<String> sets = new ArrayList<>(List.of("data.train=" + data, "data.holdoutFraction=0.1", "model.architecture=lenet", "training.epochs=" + spec.epochs(),
        "training.batchSizePerWorker=" + spec.batchSize(), "training.averagingFrequency=" + spec.averagingFrequency(),
        "training.engine=" + engine, "output=" + out.toUri()));
    return ConfigLoader.load(null, sets, PretrainConfig.class);
  }
}

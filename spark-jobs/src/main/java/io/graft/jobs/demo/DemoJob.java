package io.graft.jobs.demo;

import io.graft.config.OptimizerConfig;
import io.graft.config.TrainingConfig;
import io.graft.data.BadRecordPolicy;
import io.graft.data.Example;
import io.graft.data.IdxReader;
import io.graft.data.ImportFormat;
import io.graft.fetch.DataFetcher;
import io.graft.jobs.importer.ImportConfig;
import io.graft.jobs.importer.ImportJob;
import io.graft.jobs.pretrain.PretrainConfig;
import io.graft.jobs.pretrain.PretrainJob;
import io.graft.model.ModelConfig;
import io.graft.store.Storage;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@code graft demo}: the whole foundation in one command on the embedded default. Fetches MNIST,
 * imports it to Parquet under {@code OUT/data/}, pre-trains the LeNet-style CNN by parameter
 * averaging into {@code OUT/models/lenet-mnist/}, then reloads the saved zip with plain DL4J and
 * checks its accuracy on the 10k raw test images.
 */
public final class DemoJob {
  private DemoJob() {}

  /**
   * @param out folder for data and models
   * @param epochs pre-training epochs
   * @param maxRows cap on training rows (0: all 60k), for a quick look
   */
  public record DemoConfig(Path out, int epochs, long maxRows) {}

  /** Accuracy as the job measured it and as plain DL4J measures the saved model. */
  public record Result(String model, double testAccuracy, double reloadedAccuracy) {}

  public static Result run(DemoConfig config, SparkSession spark, Consumer<String> log) throws Exception {
    Path out = config.out().toAbsolutePath();
    Path raw = out.resolve("data/raw");
    Path mnist = new DataFetcher(raw, line -> log.accept("[fetch-data] " + line)).fetch(List.of("mnist")).get("mnist");
    String train = out.resolve("data/mnist/train").toUri().toString();
    String test = out.resolve("data/mnist/test").toUri().toString();
    Consumer<String> importLog = line -> log.accept("[import] " + line);
    ImportJob.run(ImportConfig.of(ImportFormat.IDX, mnist.resolve("train-images-idx3-ubyte").toUri().toString(), train)
        .withClasses(10, List.of()), spark, importLog);
    ImportJob.run(ImportConfig.of(ImportFormat.IDX, mnist.resolve("t10k-images-idx3-ubyte").toUri().toString(), test)
        .withClasses(10, List.of()), spark, importLog);

    String modelDir = out.resolve("models/lenet-mnist").toUri().toString();
    PretrainConfig pretrain = new PretrainConfig(
        new PretrainConfig.Data(train, test, null),
        ModelConfig.defaults(),
        OptimizerConfig.defaults(),
        new TrainingConfig(config.epochs(), 64, 10, 2, 0, TrainingConfig.Approach.EXPORT, 42L, BadRecordPolicy.FAIL, config.maxRows(),
            TrainingConfig.Engine.DL4J_SPARK),
        modelDir);
    PretrainJob.Result result = PretrainJob.run(pretrain, spark, io.graft.engine.JobOptions.defaults());

    Storage storage = new Storage(spark.sparkContext().hadoopConfiguration());
    double reloaded = plainDl4jAccuracy(storage, modelDir + "/" + PretrainJob.MODEL_FILE,
        mnist.resolve("t10k-images-idx3-ubyte").toUri().toString(), mnist.resolve("t10k-labels-idx1-ubyte").toUri().toString());
    log.accept(String.format("[demo] test accuracy %.2f%% (Spark job), %.2f%% (saved zip reloaded in plain DL4J, raw MNIST test images)",
        100 * result.testAccuracy(), 100 * reloaded));
    return new Result(modelDir, result.testAccuracy(), reloaded);
  }

  /** Loads the zip with DL4J's ModelSerializer and evaluates it on raw IDX files, no Spark. */
  public static double plainDl4jAccuracy(Storage storage, String modelZip, String images, String labels) throws Exception {
    MultiLayerNetwork net;
    try (InputStream in = storage.open(storage.path(modelZip))) {
      net = ModelSerializer.restoreMultiLayerNetwork(in, false);
    }
    org.apache.hadoop.fs.Path img = storage.path(images);
    org.apache.hadoop.fs.Path lab = storage.path(labels);
    IdxReader.Pair headers = IdxReader.inspect(storage, img, lab);
    List<Example> rows = IdxReader.read(storage, img, lab, headers, 0, headers.images().count(), 255f);
    int numFeatures = rows.get(0).features().length;
    Evaluation eval = new Evaluation();
    for (int start = 0; start < rows.size(); start += 1000) {
      int end = Math.min(rows.size(), start + 1000);
      float[] x = new float[(end - start) * numFeatures];
      INDArray y = Nd4j.zeros(org.nd4j.linalg.api.buffer.DataType.FLOAT, end - start, 10);
      for (int i = start; i < end; i++) {
        System.arraycopy(rows.get(i).features(), 0, x, (i - start) * numFeatures, numFeatures);
        y.putScalar(i - start, rows.get(i).label(), 1f);
      }
      eval.eval(y, net.output(Nd4j.create(x, new long[] {end - start, numFeatures}, 'c')));
    }
    return eval.accuracy();
  }
}

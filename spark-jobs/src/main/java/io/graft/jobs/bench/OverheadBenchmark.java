package io.graft.jobs.bench;

import io.graft.config.ConfigException;
import io.graft.config.ConfigLoader;
import io.graft.data.Manifest;
import io.graft.engine.JobOptions;
import io.graft.engine.RoundMetrics;
import io.graft.engine.SyncAveraging;
import io.graft.jobs.pretrain.PretrainConfig;
import io.graft.jobs.pretrain.PretrainJob;
import io.graft.model.Architectures;
import io.graft.model.GraftKernels;
import io.graft.model.KernelClock;
import io.graft.spark.GraftDatasets;
import io.graft.store.Storage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.api.NeuralNetwork;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.dataset.DataSet;

/**
 * {@code graft bench-overhead}: what distributed pre-training costs against the alternatives on the
 * same cores. The same network (LeNet or the ResNet trunk), the same rows (the first {@code rows} of
 * the dataset; the next tenth scores every variant) and the same minibatch size are trained in one
 * run: DL4J's own {@code fit} in the driver JVM (no Spark), {@code graft pretrain} on dl4j-spark's
 * ParameterAveragingTrainingMaster and on Graft's averaging (barrier rounds), and, where a Python
 * with torch is found, PyTorch in one process at 1 and N threads and DistributedDataParallel over N
 * processes (gloo), as TorchDistributor runs it on an executor. Every variant trains
 * {@code epochs} epochs and its last is timed (the first includes one-off work: dl4j-spark's
 * export of the batches, network creation on the executors, PyTorch's process group).
 */
public final class OverheadBenchmark {
  /** The result keys, in table order. */
  public static final String SINGLE_JVM = "single_jvm";
  /** The single-JVM fit on DL4J's own (oneDNN) layers, without {@link GraftKernels}. */
  public static final String SINGLE_JVM_DL4J = "single_jvm_dl4j";
  public static final String DL4J_SPARK = "dl4j_spark";
  public static final String GRAFT = "graft";
  public static final String TORCH_1T = "torch_1t";
  public static final String TORCH_NT = "torch_nt";
  public static final String TORCH_DDP = "torch_ddp";

  private OverheadBenchmark() {}

  /**
   * @param train Graft dataset to train on
   * @param rows rows used (the first, in file order, for every variant)
   * @param batchSize minibatch size, per worker on Spark and per process under DDP
   * @param averagingFrequency minibatches between averagings on Spark
   * @param epochs epochs per variant (the last is timed)
   * @param model {@code lenet} or {@code resnet} (the default ResNet trunk, stages [2, 2, 2], widths [16, 32, 64])
   * @param python the PyTorch peer's interpreter: {@code auto} (skipped where none imports torch), {@code off}, or a path
   */
  public record Spec(String train, long rows, int batchSize, int averagingFrequency, int epochs, String model, String python, Path work,
      Path report) {}

  /**
   * One row of the table: its key, what was timed, on which engine (for the Spark variants, the one
   * the run's provenance says trained it), the samples of the timed epoch, its rate and the test
   * accuracy after the last epoch; for Graft's barrier rounds, where the tasks spent the timed epoch
   * ({@code tasks_fitting_share}, {@code tasks_waiting_share}, {@code tasks_averaging_share}).
   */
  public record Variant(String key, String name, String engine, long samples, double samplesPerSecond, double testAccuracy,
      Map<String, Double> taskShares) {
    public Variant(String key, String name, String engine, long samples, double samplesPerSecond, double testAccuracy) {
      this(key, name, engine, samples, samplesPerSecond, testAccuracy, Map.of());
    }
  }

  /** Every variant that ran, in table order, and the host line. */
  public record Result(List<Variant> variants, String host) {
    public Variant get(String key) {
      return variants.stream().filter(v -> v.key().equals(key)).findFirst().orElse(null);
    }

    public double samplesPerSecond(String key) {
      Variant v = get(key);
      return v == null ? Double.NaN : v.samplesPerSecond();
    }

    /** The machine-readable figures: each variant's samples/s and accuracy, the ratios, the host. */
    public String keyValues(String model) {
      StringBuilder kv = new StringBuilder("model=" + model);
      for (Variant v : variants) {
        kv.append(String.format(Locale.ROOT, " %s=%.0f %s_accuracy=%.4f", v.key(), v.samplesPerSecond(), v.key(), v.testAccuracy()));
        v.taskShares().forEach((k, share) -> kv.append(String.format(Locale.ROOT, " %s_%s=%.3f", v.key(), k, share)));
      }
      double single = samplesPerSecond(SINGLE_JVM);
      kv.append(String.format(Locale.ROOT, " ratio_dl4j_spark=%.2f ratio_graft=%.2f", samplesPerSecond(DL4J_SPARK) / single,
          samplesPerSecond(GRAFT) / single));
      if (get(TORCH_DDP) != null) {
        kv.append(String.format(Locale.ROOT, " graft_vs_torch_ddp=%.2f dl4j_spark_vs_torch_ddp=%.2f single_jvm_vs_torch_1t=%.2f",
            samplesPerSecond(GRAFT) / samplesPerSecond(TORCH_DDP), samplesPerSecond(DL4J_SPARK) / samplesPerSecond(TORCH_DDP),
            single / samplesPerSecond(TORCH_1T)));
      }
      return kv.append(" host=\"").append(host.replace('"', '\'')).append('"').toString();
    }
  }

  public static Result run(Spec spec, SparkSession spark, Consumer<String> log) throws Exception {
    Storage storage = new Storage(spark.sparkContext().hadoopConfiguration());
    Manifest m = GraftDatasets.manifest(storage, spec.train(), "training");
    ConfigException.require(spec.model().equals("lenet") || spec.model().equals("resnet"), "--model must be lenet or resnet, cannot be: %s",
        spec.model());
    TorchPeer peer = TorchPeer.find(spec.python(), spec.work().resolve("torch"));
    // Every variant trains on the same first `rows` rows and is scored on the rows after them.
    long testRows = Math.max(100, spec.rows() / 10);
    String subset = writeRows(spark, storage, spec, "rows", 0, spec.rows());
    String test = writeRows(spark, storage, spec, "test", spec.rows(), testRows);

    PretrainConfig base = config(spec, subset, test, "dl4j-spark", spec.work().resolve("dl4j-spark"));
    List<DataSet> batches = GraftDatasets.miniBatches(spark.read().parquet(subset).coalesce(1), spec.batchSize(), m.numFeatures(),
        m.numClasses()).collect();
    List<DataSet> testBatches = GraftDatasets.miniBatches(spark.read().parquet(test).coalesce(1), 256, m.numFeatures(), m.numClasses())
        .collect();
    List<Variant> variants = new ArrayList<>();
    variants.add(singleJvm(spec, base, m, batches, testBatches, true, log));
    variants.add(singleJvm(spec, base, m, batches, testBatches, false, log));
    variants.add(sparkVariant(DL4J_SPARK, "`graft pretrain`, dl4j-spark ParameterAveragingTrainingMaster", base, spark, log));
    variants.add(sparkVariant(GRAFT, "`graft pretrain`, Graft averaging (barrier rounds)",
        config(spec, subset, test, "graft", spec.work().resolve("graft")), spark, log));
    int cores = Runtime.getRuntime().availableProcessors();
    String torch = "";
    if (peer == null) {
      log.accept("[bench] PyTorch peer skipped: " + (spec.python().equals("off") ? "--python off" : "no Python here imports torch"));
    } else {
      peer.writeRows(batches, testBatches);
      int[] shape = m.featureShape().length == 2 ? new int[] {1, m.featureShape()[0], m.featureShape()[1]} : m.featureShape();
      List<String> common = List.of("--shape", shape[0] + "," + shape[1] + "," + shape[2], "--model", spec.model(), "--epochs",
          Integer.toString(spec.epochs()), "--batch", Integer.toString(spec.batchSize()), "--lr", Double.toString(base.optimizer().learningRate()),
          "--stages", join(base.model().stages()), "--widths", join(base.model().widths()));
      List<TorchPeer.Run> runs = new ArrayList<>();
      runs.add(peer.run(with(common, "--variant", "single", "--threads", "1"), 1));
      if (cores > 1) {
        runs.add(peer.run(with(common, "--variant", "single", "--threads", Integer.toString(cores)), cores));
      }
      runs.add(peer.run(with(common, "--variant", "ddp", "--procs", Integer.toString(cores)), 1));
      for (TorchPeer.Run r : runs) {
        boolean ddp = r.variant().equals("ddp");
        String key = ddp ? TORCH_DDP : r.threads() == 1 ? TORCH_1T : TORCH_NT;
        String name = ddp ? String.format("PyTorch DistributedDataParallel, %d processes x 1 thread (gloo)", r.processes())
            : String.format("PyTorch, 1 process x %d thread%s", r.threads(), r.threads() == 1 ? "" : "s");
        variants.add(new Variant(key, name, "torch", r.samples(), r.samplesPerSecond(), r.testAccuracy()));
        log.accept(String.format(Locale.ROOT, "[bench] %s: %.0f samples/s (last epoch), test accuracy %.2f%%", name, r.samplesPerSecond(),
            100 * r.testAccuracy()));
      }
      torch = "; PyTorch " + runs.get(0).torchVersion() + " (" + peer.python() + ")";
    }
    String host = BenchHost.line() + torch;
    Result r = new Result(variants, host);
    Files.writeString(spec.report(), table(spec, r, base, testRows, spark.sparkContext().master()));
    log.accept(Files.readString(spec.report()));
    return r;
  }

  private static String table(Spec spec, Result r, PretrainConfig base, long testRows, String master) {
    double single = r.samplesPerSecond(SINGLE_JVM);
    double ddp = r.samplesPerSecond(TORCH_DDP);
    StringBuilder md = new StringBuilder("| variant | engine | samples timed | samples/s (last epoch) | vs PyTorch DDP | vs single-JVM DL4J "
        + "| test accuracy |\n|---|---|---|---|---|---|---|\n");
    for (Variant v : r.variants()) {
      md.append(String.format(Locale.ROOT, "| %s | %s | %,d | %.0f | %s | %.2fx | %.2f %% |%n", v.name(), v.engine(), v.samples(),
          v.samplesPerSecond(), Double.isNaN(ddp) ? "-" : String.format(Locale.ROOT, "%.2fx", v.samplesPerSecond() / ddp),
          v.samplesPerSecond() / single, 100 * v.testAccuracy()));
    }
    String model = spec.model().equals("lenet") ? "LeNet" : "ResNet trunk (stages " + base.model().stages() + ", widths "
        + base.model().widths() + ")";
    md.append(String.format(Locale.ROOT, "%n%,d rows of %s (scored on the next %,d), %s, Adam %s, batch %d (per worker on Spark, per "
        + "process under DDP), averaging every %d, %d epochs per variant, the last timed; Spark %s.%n%nHost: %s.%n", spec.rows(),
        spec.train(), testRows, model, base.optimizer().learningRate(), spec.batchSize(), spec.averagingFrequency(), spec.epochs(), master,
        r.host()));
    return md.toString();
  }

  /**
   * DL4J's own {@code fit} in this JVM; {@code graftKernels} puts {@link GraftKernels} on the network
   * as every Graft engine does, else DL4J keeps its own layers.
   */
  private static Variant singleJvm(Spec spec, PretrainConfig base, Manifest m, List<DataSet> batches, List<DataSet> testBatches,
      boolean graftKernels, Consumer<String> log) {
    NeuralNetwork net;
    if (spec.model().equals("resnet")) {
      ComputationGraph graph = new ComputationGraph(Architectures.resnet(base.model(), m.featureShape(), m.numClasses(), base.optimizer(),
          base.training().seed()));
      graph.init();
      net = graph;
    } else {
      MultiLayerNetwork mln = new MultiLayerNetwork(Architectures.build(base.model(), m.featureShape(), m.numClasses(), base.optimizer(),
          base.training().seed()));
      mln.init();
      net = mln;
    }
    int kernels = graftKernels ? GraftKernels.install((org.deeplearning4j.nn.api.Model) net).total() : 0;
    String name = kernels > 0 ? "single-JVM DL4J `fit`, no Spark, Graft's kernels"
        : graftKernels ? "single-JVM DL4J `fit`, no Spark" : "single-JVM DL4J `fit`, no Spark, DL4J's own layers";
    double single = graftKernels ? fitWithGraftKernels(net, spec.epochs(), batches, name, log) : fitOnDl4jLayers(net, spec.epochs(), batches, name, log);
    Evaluation eval = net.doEvaluation(new ListDataSetIterator<>(testBatches), new Evaluation())[0];
    long samples = batches.stream().mapToLong(DataSet::numExamples).sum();
    return new Variant(graftKernels ? SINGLE_JVM : SINGLE_JVM_DL4J, name, "none", samples, single, eval.accuracy());
  }

  /** {@link #fitEpochs} under its own name, so a profile of the run can tell the two single-JVM fits apart. */
  private static double fitWithGraftKernels(NeuralNetwork net, int epochs, List<DataSet> batches, String name, Consumer<String> log) {
    double rate = fitEpochs(net, epochs, batches, name, log);
    if (KernelClock.on()) {
      // the last epoch's split (fitEpochs resets the clock before it): where a step's time goes, measured in Graft's kernels
      long[] nanos = KernelClock.nanos();
      double steps = batches.size();
      double step = 1000.0 * batches.stream().mapToLong(DataSet::numExamples).sum() / rate / steps;
      log.accept(String.format(Locale.ROOT, "[bench] kernel clock, ms per step of the last epoch: convolution=%.2f batch_norm=%.2f relu=%.2f "
          + "step=%.2f", nanos[KernelClock.Kind.CONVOLUTION.ordinal()] / 1e6 / steps, nanos[KernelClock.Kind.BATCH_NORM.ordinal()] / 1e6 / steps,
          nanos[KernelClock.Kind.RELU.ordinal()] / 1e6 / steps, step));
    }
    return rate;
  }

  private static double fitOnDl4jLayers(NeuralNetwork net, int epochs, List<DataSet> batches, String name, Consumer<String> log) {
    return fitEpochs(net, epochs, batches, name, log);
  }

  /** Trains {@code epochs} epochs; the last one's samples per second. */
  private static double fitEpochs(NeuralNetwork net, int epochs, List<DataSet> batches, String name, Consumer<String> log) {
    double rate = 0;
    for (int epoch = 1; epoch <= epochs; epoch++) {
      KernelClock.reset();
      long t0 = System.nanoTime();
      long samples = 0;
      for (DataSet b : batches) {
        net.fit(b);
        samples += b.numExamples();
      }
      rate = samples / ((System.nanoTime() - t0) / 1e9);
      log.accept(String.format(Locale.ROOT, "[bench] %s, epoch %d: %.0f samples/s", name, epoch, rate));
    }
    return rate;
  }

  private static Variant sparkVariant(String key, String name, PretrainConfig config, SparkSession spark, Consumer<String> log)
      throws Exception {
    PretrainJob.Result run = PretrainJob.run(config, spark, JobOptions.quiet());
    RoundMetrics last = run.history().get(run.history().size() - 1);
    log.accept(String.format(Locale.ROOT, "[bench] %s: %.0f samples/s (last round), test accuracy %.2f%%", name, last.samplesPerSecond(),
        100 * run.testAccuracy()));
    Map<String, Double> shares = new LinkedHashMap<>();
    last.extra().forEach((k, v) -> {
      if (k.startsWith(SyncAveraging.RoundFit.SHARE_PREFIX)) {
        shares.put(k, v);
      }
    });
    return new Variant(key, name, run.engine(), last.samples(), last.samplesPerSecond(), run.testAccuracy(), shares);
  }

  private static List<String> with(List<String> common, String... more) {
    List<String> all = new ArrayList<>(common);
    all.addAll(List.of(more));
    return all;
  }

  private static String join(List<Integer> values) {
    return values.stream().map(String::valueOf).collect(Collectors.joining(","));
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
    List<String> sets = new ArrayList<>(List.of("data.train=" + data, "data.test=" + test, "model.architecture=" + spec.model(),
        "training.epochs=" + spec.epochs(),
        "training.batchSizePerWorker=" + spec.batchSize(), "training.averagingFrequency=" + spec.averagingFrequency(),
        "training.engine=" + engine, "output=" + out.toUri()));
    return ConfigLoader.load(null, sets, PretrainConfig.class);
  }
}

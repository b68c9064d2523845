package io.graft.jobs.bench;

import io.graft.config.ConfigLoader;
import io.graft.data.Manifest;
import io.graft.jobs.pretrain.PretrainConfig;
import io.graft.model.Architectures;
import io.graft.model.Flops;
import io.graft.model.ModelConfig;
import io.graft.model.GraftKernels;
import io.graft.model.OneDnn;
import io.graft.spark.GraftDatasets;
import io.graft.store.Storage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * {@code graft bench-ceiling}: the training step's achieved GFLOP/s against this machine's sgemm
 * peak, measured in one JVM and one run.
 *
 * <p>The peak is ND4J's own float matrix product of two {@code gemm × gemm} matrices (best and
 * median of several). The training step is {@code graft pretrain}'s LeNet with its default
 * optimiser, fitted on real rows in the driver (no Spark in the timed loop) at each minibatch
 * size, with DL4J's built-in layers, with oneDNN ({@link OneDnn}), and with oneDNN and Graft's
 * kernels as Graft trains it ({@link GraftKernels}); its FLOPs are
 * counted from the network ({@link Flops}). The dense layers are measured on their own as what
 * they are in a feature-extraction head: LeNet's {@code dense1} and {@code output} trained on the
 * 800 features its convolutional base computes for the same rows. Each figure is the median of
 * three timed windows after a warm-up.
 */
public final class CeilingBenchmark {
  private CeilingBenchmark() {}

  /**
   * @param train Graft dataset (image-shaped, e.g. MNIST)
   * @param rows rows loaded and cycled through
   * @param batchSizes minibatch sizes for the whole LeNet
   * @param headBatchSizes minibatch sizes for the dense head
   * @param seconds length of each timed window
   * @param gemm side of the square matrices of the peak measurement
   */
  public record Spec(String train, int rows, List<Integer> batchSizes, List<Integer> headBatchSizes, double seconds, int gemm, Path report) {}

  /** One timed configuration. */
  public record Row(String network, String layers, int batch, double samplesPerSecond, double gflops, double shareOfPeak) {}

  public record Result(double peakGflops, double medianGemmGflops, Flops lenet, Flops head, List<Row> rows) {}

  public static Result run(Spec spec, SparkSession spark, Consumer<String> log) throws Exception {
    Storage storage = new Storage(spark.sparkContext().hadoopConfiguration());
    Manifest m = GraftDatasets.manifest(storage, spec.train(), "training");
    DataSet all = GraftDatasets.miniBatches(spark.read().parquet(spec.train()).limit(spec.rows()).coalesce(1), spec.rows(), m.numFeatures(),
        m.numClasses()).first();
    // graft pretrain's LeNet and optimiser; the config needs an output, nothing is written
    PretrainConfig config = ConfigLoader.load(null, List.of("data.train=" + spec.train(), "model.architecture=lenet", "output=unused"),
        PretrainConfig.class);

    double[] gemm = gemm(spec.gemm());
    double peak = gemm[0];
    log.accept(String.format(Locale.ROOT, "[bench] sgemm %d x %d, %d ND4J threads: best %.1f GFLOP/s, median %.1f", spec.gemm(), spec.gemm(),
        Nd4j.getEnvironment().maxMasterThreads(), gemm[0], gemm[1]));

    List<Row> rows = new ArrayList<>();
    Flops lenetFlops = null;
    for (String mode : List.of("off", "auto", "graft")) {
      OneDnn.Status status = OneDnn.configure(mode.equals("graft") ? "auto" : mode);
      if (mode.equals("graft") && !status.on()) {
        continue;
      }
      String layers = !status.on() ? "DL4J built-in" : mode.equals("graft") ? "oneDNN + Graft's kernels" : "oneDNN";
      for (int batch : spec.batchSizes()) {
        MultiLayerNetwork net = new MultiLayerNetwork(Architectures.build(config.model(), m.featureShape(), m.numClasses(), config.optimizer(),
            config.training().seed()));
        net.init();
        if (mode.equals("graft")) {
          GraftKernels.install(net);
        }
        if (lenetFlops == null) {
          lenetFlops = Flops.of(net, m.numFeatures());
        }
        double sps = samplesPerSecond(net, all, batch, spec.seconds());
        Row r = row("LeNet", layers, batch, sps, lenetFlops.training(), peak);
        rows.add(r);
        log.accept(line(r));
      }
    }

    // the head and the base run as the session's jobs do
    OneDnn.configure(spark.sparkContext().getConf().get(OneDnn.SETTING, "auto"));
    MultiLayerNetwork base = new MultiLayerNetwork(Architectures.build(config.model(), m.featureShape(), m.numClasses(), config.optimizer(),
        config.training().seed()));
    base.init();
    int pool2 = indexOf(base, "pool2");
    INDArray features = base.feedForwardToLayer(pool2, all.getFeatures(), false).get(pool2 + 1);
    features = features.reshape('c', features.size(0), features.length() / features.size(0));
    DataSet cached = new DataSet(features, all.getLabels());
    ModelConfig headModel = new ModelConfig(ModelConfig.Architecture.MLP, List.of(config.model().dense()), null, null, null,
        config.model().activation(), false);
    Flops headFlops = null;
    for (int batch : spec.headBatchSizes()) {
      MultiLayerNetwork head = new MultiLayerNetwork(Architectures.build(headModel, new int[] {(int) features.size(1)}, m.numClasses(),
          config.optimizer(), config.training().seed()));
      head.init();
      if (headFlops == null) {
        headFlops = Flops.of(head, features.size(1));
      }
      Row r = row("dense head (" + features.size(1) + "→" + config.model().dense() + "→" + m.numClasses() + ")", "dense", batch,
          samplesPerSecond(head, cached, batch, spec.seconds()), headFlops.training(), peak);
      rows.add(r);
      log.accept(line(r));
    }

    Result result = new Result(peak, gemm[1], lenetFlops, headFlops, rows);
    String md = markdown(spec, result, all.numExamples());
    Files.writeString(spec.report(), md);
    log.accept(md);
    return result;
  }

  /** Best and median GFLOP/s of a float matrix product of two side × side matrices. */
  static double[] gemm(int side) {
    INDArray a = Nd4j.rand(DataType.FLOAT, side, side);
    INDArray b = Nd4j.rand(DataType.FLOAT, side, side);
    INDArray c = Nd4j.create(DataType.FLOAT, side, side);
    double flops = 2.0 * side * side * side;
    for (int i = 0; i < 2; i++) {
      a.mmuli(b, c);
    }
    double[] rates = new double[7];
    for (int i = 0; i < rates.length; i++) {
      long t0 = System.nanoTime();
      a.mmuli(b, c);
      rates[i] = flops / ((System.nanoTime() - t0) / 1e9) / 1e9;
    }
    Arrays.sort(rates);
    return new double[] {rates[rates.length - 1], rates[rates.length / 2]};
  }

  /** Median of three windows of {@code seconds}, cycling over the rows in minibatches, after a warm-up. */
  static double samplesPerSecond(MultiLayerNetwork net, DataSet all, int batch, double seconds) {
    int n = all.numExamples();
    List<DataSet> batches = new ArrayList<>();
    for (int from = 0; from + batch <= n; from += batch) {
      batches.add(new DataSet(all.getFeatures().get(NDArrayIndex.interval(from, from + batch), NDArrayIndex.all()).dup(),
          all.getLabels().get(NDArrayIndex.interval(from, from + batch), NDArrayIndex.all()).dup()));
    }
    if (batches.isEmpty()) {
      throw new IllegalArgumentException("--rows " + n + " is smaller than the minibatch " + batch);
    }
    for (int i = 0; i < Math.min(10, batches.size()); i++) {
      net.fit(batches.get(i));
    }
    double[] windows = new double[3];
    int next = 0;
    for (int w = 0; w < windows.length; w++) {
      long t0 = System.nanoTime();
      long samples = 0;
      while (System.nanoTime() - t0 < seconds * 1e9) {
        DataSet b = batches.get(next++ % batches.size());
        net.fit(b);
        samples += batch;
      }
      windows[w] = samples / ((System.nanoTime() - t0) / 1e9);
    }
    Arrays.sort(windows);
    return windows[1];
  }

  private static int indexOf(MultiLayerNetwork net, String name) {
    for (int i = 0; i < net.getnLayers(); i++) {
      if (name.equals(net.getLayer(i).conf().getLayer().getLayerName())) {
        return i;
      }
    }
    throw new IllegalStateException("LeNet has no layer " + name);
  }

  private static Row row(String network, String layers, int batch, double sps, double flopsPerSample, double peak) {
    double gflops = sps * flopsPerSample / 1e9;
    return new Row(network, layers, batch, sps, gflops, gflops / peak);
  }

  private static String line(Row r) {
    return String.format(Locale.ROOT, "[bench] %s, %s, batch %d: %.0f samples/s, %.1f GFLOP/s, %.1f%% of peak", r.network(), r.layers(),
        r.batch(), r.samplesPerSecond(), r.gflops(), 100 * r.shareOfPeak());
  }

  private static String markdown(Spec spec, Result r, int rows) {
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "Peak: sgemm %d x %d, %d ND4J threads: best %.1f GFLOP/s (median %.1f).%n%n", spec.gemm(), spec.gemm(),
        Nd4j.getEnvironment().maxMasterThreads(), r.peakGflops(), r.medianGemmGflops()));
    sb.append(String.format(Locale.ROOT, "FLOPs per example of a training step: LeNet %.2f M (", r.lenet().training() / 1e6));
    for (Flops.LayerFlops l : r.lenet().layers()) {
      sb.append(String.format(Locale.ROOT, "%s %.2f M, ", l.name(), l.training() / 1e6));
    }
    sb.setLength(sb.length() - 2);
    sb.append(String.format(Locale.ROOT, "); dense head %.2f M.%n%n", r.head().training() / 1e6));
    sb.append("| network | layers | batch | samples/s | GFLOP/s | share of peak |\n|---|---|---|---|---|---|\n");
    for (Row row : r.rows()) {
      sb.append(String.format(Locale.ROOT, "| %s | %s | %d | %.0f | %.1f | %.1f %% |%n", row.network(), row.layers(), row.batch(),
          row.samplesPerSecond(), row.gflops(), 100 * row.shareOfPeak()));
    }
    sb.append(String.format(Locale.ROOT, "%n%,d rows of %s, single JVM (no Spark in the timed loop), median of 3 windows of %.0f s.%n%n"
        + "Host: %s.%n", rows, spec.train(), spec.seconds(), BenchHost.line()));
    return sb.toString();
  }
}

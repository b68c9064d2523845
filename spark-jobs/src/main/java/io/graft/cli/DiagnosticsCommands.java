package io.graft.cli;

import io.graft.data.BadRecordPolicy;
import io.graft.diagnostics.DivergenceJob;
import io.graft.diagnostics.EvaluateJob;
import io.graft.diagnostics.ProbeJob;
import io.graft.diagnostics.ProxyADistance;
import io.graft.diagnostics.ReportJob;
import io.graft.diagnostics.Verdict;
import io.graft.diagnostics.VerdictJob;
import io.graft.ml.PredictJob;
import io.graft.store.Storage;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The diagnostics commands: divergence, probe, evaluate, verdict, predict and report. */
final class DiagnosticsCommands {
  private DiagnosticsCommands() {}

  @Command(name = "divergence", mixinStandardHelpOptions = true,
      description = {"Proxy A-distance between a source and a target dataset (0: indistinguishable, 2: fully separable), with a",
          "bootstrap 95% interval; on raw inputs, or on one layer's features of a model (--model, --layer)."})
  static final class Divergence implements Callable<Integer> {
    @Option(names = "--source", required = true, paramLabel = "URI", description = "Source dataset (Graft Parquet).")
    String source;
    @Option(names = "--target", required = true, paramLabel = "URI", description = "Target dataset (Graft Parquet).")
    String target;
    @Option(names = "--model", paramLabel = "MODEL", description = "Compare a model's features instead of raw inputs.")
    String model;
    @Option(names = "--layer", paramLabel = "NAME", description = "The model's layer (default: the last below the output).")
    String layer;
    @Option(names = "--max-rows", defaultValue = "5000", description = "Rows per domain, drawn at random (default: ${DEFAULT-VALUE}).")
    long maxRows;
    @Option(names = "--grid", split = ",", description = "Regularisation grid (default: 1e-4,1e-3,1e-2,1e-1,1).")
    double[] grid;
    @Option(names = "--bootstrap", defaultValue = "1000", description = "Bootstrap draws for the interval (default: ${DEFAULT-VALUE}).")
    int bootstrap;
    @Option(names = "--seed", defaultValue = "42")
    long seed;
    @Option(names = "--label", description = "Name of this measurement in the report.")
    String label;
    @Option(names = "--out", paramLabel = "FILE", description = "Write the result as JSON (for graft report).")
    String out;
    @Mixin
    SparkOptions spark;

    @Override
    public Integer call() throws Exception {
      ProxyADistance.Options opts = new ProxyADistance.Options(grid == null ? ProxyADistance.DEFAULT_GRID : grid, bootstrap, 100, seed);
      DivergenceJob.Request r = new DivergenceJob.Request(source, target, model, layer, maxRows, label, out, opts);
      DivergenceJob.validate(r, spark.storage("graft divergence"));
      DivergenceJob.Output o = DivergenceJob.run(r, spark.session("graft divergence"));
      ProxyADistance.Result res = o.result();
      System.out.printf("a_distance=%.4f ci95=[%.4f, %.4f] error=%.4f regParam=%g rows_per_domain=%d test_rows=%d features=%s%n",
          res.aDistance(), res.lower(), res.upper(), res.error(), res.regParam(), res.rowsPerDomain(), res.testRows(), o.features());
      return GraftCli.EXIT_OK;
    }
  }

  @Command(name = "probe", mixinStandardHelpOptions = true,
      description = {"Layer-wise transferability: a linear probe on each layer's frozen features scores target accuracy per layer;",
          "prints a recommended freeze depth and discriminative alpha with its reasoning (--write-config: as a fine-tune config)."})
  static final class Probe implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "MODEL")
    String model;
    @Option(names = "--target", required = true, paramLabel = "URI", description = "Target training dataset (probes train on a labelled subset).")
    String target;
    @Option(names = "--target-test", paramLabel = "URI", description = "Target test dataset (default: hold out 30% of the subset).")
    String test;
    @Option(names = "--labels-per-class", defaultValue = "100", description = "Labelled rows per class for the probes (default: ${DEFAULT-VALUE}).")
    int labelsPerClass;
    @Option(names = "--max-test-rows", defaultValue = "2000")
    long maxTestRows;
    @Option(names = "--layers", split = ",", description = "Layers to probe (default: every layer below the output).")
    List<String> layers = new ArrayList<>();
    @Option(names = "--tolerance", defaultValue = "0.01", description = "Accuracy within which a layer is as good as the best (default: ${DEFAULT-VALUE}).")
    double tolerance;
    @Option(names = "--grid", split = ",", description = "Regularisation grid (default: 1e-3,1e-2,1e-1).")
    double[] grid;
    @Option(names = "--max-iter", defaultValue = "100")
    int maxIter;
    @Option(names = "--seed", defaultValue = "42")
    long seed;
    @Option(names = "--out", paramLabel = "FILE", description = "Write the probes as JSON (for graft report).")
    String out;
    @Option(names = "--write-config", paramLabel = "FILE", description = "Write the recommendation as a graft finetune config.")
    String writeConfig;
    @Mixin
    SparkOptions spark;

    @Override
    public Integer call() throws Exception {
      ProbeJob.Request r = new ProbeJob.Request(model, target, test, labelsPerClass, maxTestRows, layers, tolerance,
          grid == null ? new double[] {1e-3, 1e-2, 1e-1} : grid, maxIter, seed, out, writeConfig);
      ProbeJob.validate(r, spark.storage("graft probe"));
      ProbeJob.Output o = ProbeJob.run(r, spark.session("graft probe"), System.err::println);
      System.out.printf("%-12s %8s %9s%n", "layer", "width", "accuracy");
      for (ProbeJob.LayerProbe p : o.layers()) {
        System.out.printf("%-12s %8d %8.2f%%%n", p.layer(), p.width(), 100 * p.accuracy());
      }
      ProbeJob.Recommendation rec = o.recommendation();
      System.out.printf("recommendation: %s; freeze through %s (%d layers), train from %s, alpha %.2f%n", rec.strategy(),
          rec.freezeThrough() == null ? "nothing" : "'" + rec.freezeThrough() + "'", rec.frozenLayers(), rec.trainFrom(), rec.alpha());
      rec.reasoning().forEach(line -> System.out.println("  - " + line));
      if (writeConfig != null) {
        System.out.println("fine-tune config written to " + writeConfig);
      }
      return GraftCli.EXIT_OK;
    }
  }

  @Command(name = "evaluate", mixinStandardHelpOptions = true,
      description = "Accuracy, per-class precision / recall / F1 and the confusion matrix of a model on a labelled dataset.")
  static final class Evaluate implements Callable<Integer> {
    @Parameters(paramLabel = "MODEL", description = "Model folder or zip.")
    String model;
    @Option(names = "--data", required = true, paramLabel = "URI")
    String data;
    @Option(names = "--out", paramLabel = "FILE", description = "Write the figures as JSON.")
    String out;
    @Option(names = "--on-bad-record", defaultValue = "fail", description = "fail | skip (default: ${DEFAULT-VALUE}).")
    String onBadRecord;
    @Mixin
    SparkOptions spark;

    @Override
    public Integer call() throws Exception {
      EvaluateJob.Request r = new EvaluateJob.Request(model, data, out, BadRecordPolicy.valueOf(onBadRecord.toUpperCase()));
      EvaluateJob.validate(r, spark.storage("graft evaluate"));
      EvaluateJob.Output o = EvaluateJob.run(r, spark.session("graft evaluate"));
      System.out.printf("accuracy=%.4f loss=%.4f macro_f1=%.4f rows=%d%n", o.accuracy(), o.loss(), o.macroF1(), o.rows());
      System.out.printf("%-16s %9s %9s %9s %8s%n", "class", "precision", "recall", "f1", "support");
      for (EvaluateJob.ClassMetrics c : o.classes()) {
        System.out.printf("%-16s %9.4f %9.4f %9.4f %8d%n", c.name(), c.precision(), c.recall(), c.f1(), c.support());
      }
      System.out.println("confusion matrix (rows: actual, columns: predicted):");
      for (long[] row : o.confusion()) {
        StringBuilder line = new StringBuilder();
        for (long v : row) {
          line.append(String.format("%6d", v));
        }
        System.out.println(line);
      }
      return GraftCli.EXIT_OK;
    }
  }

  @Command(name = "verdict", mixinStandardHelpOptions = true,
      description = {"Negative-transfer verdict: compares the runs' final metric (one run per seed) with baseline runs (scratch or",
          "source-only) by Welch's t-test and Hedges' g; positive, neutral or negative. Exit status 3 on negative with",
          "--fail-on-negative-transfer."})
  static final class VerdictCommand implements Callable<Integer> {
    @Option(names = "--runs", required = true, split = ",", paramLabel = "DIR", description = "Transfer runs (one per seed).")
    List<String> runs;
    @Option(names = "--baseline", required = true, split = ",", paramLabel = "DIR", description = "Baseline runs (one per seed).")
    List<String> baseline;
    @Option(names = "--metric", description = "Provenance metric (default: the job's: test_accuracy, target_accuracy, mean_accuracy).")
    String metric;
    @Option(names = "--significance", defaultValue = "0.05", description = "Significance level (default: ${DEFAULT-VALUE}).")
    double significance;
    @Option(names = "--min-effect", defaultValue = "0.0", description = "Smallest difference that counts, in the metric's units.")
    double minEffect;
    @Option(names = "--label", description = "Name of this comparison in the report.")
    String label;
    @Option(names = "--record", description = "Write the verdict into each run's provenance.json.")
    boolean record;
    @Option(names = "--out", paramLabel = "FILE", description = "Write the verdict as JSON (for graft report).")
    String out;
    @Option(names = "--fail-on-negative-transfer", description = "Exit with status 3 when the verdict is negative.")
    boolean failOnNegative;

    @Override
    public Integer call() throws Exception {
      VerdictJob.Output o = VerdictJob.run(new VerdictJob.Request(runs, baseline, metric, significance, minEffect, label, record, out),
          new Storage(new Configuration()));
      Verdict v = o.verdict();
      System.out.printf("verdict=%s metric=%s difference=%+.4f p=%.4g hedges_g=%s%n", v.outcome(), v.metric(), v.difference(), v.pValue(),
          v.hedgesG() == null ? "n/a" : String.format("%.2f", v.hedgesG()));
      System.out.println(v.summary());
      return failOnNegative && VerdictJob.negative(o) ? GraftCli.EXIT_NEGATIVE_TRANSFER : GraftCli.EXIT_OK;
    }
  }

  @Command(name = "predict", mixinStandardHelpOptions = true,
      description = {"Adds prediction, probability (and with --embedding-layer, embedding) columns to a Parquet dataset with a model;",
          "the same Spark ML Transformer (io.graft.ml.GraftModelTransformer) a user's own pipeline can hold."})
  static final class Predict implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "MODEL")
    String model;
    @Option(names = "--data", required = true, paramLabel = "URI", description = "Parquet with a features column.")
    String data;
    @Option(names = "--out", required = true, paramLabel = "URI", description = "Output Parquet folder (written atomically).")
    String out;
    @Option(names = "--features-col", defaultValue = "features")
    String featuresCol;
    @Option(names = "--embedding-layer", paramLabel = "NAME", description = "Also output this layer's activations as 'embedding'.")
    String embeddingLayer;
    @Option(names = "--overwrite", description = "Replace an existing output.")
    boolean overwrite;
    @Mixin
    SparkOptions spark;

    @Override
    public Integer call() throws Exception {
      PredictJob.Request r = new PredictJob.Request(model, data, out, featuresCol, embeddingLayer, overwrite);
      PredictJob.validate(r, spark.storage("graft predict"));
      PredictJob.Result res = PredictJob.run(r, spark.session("graft predict"));
      System.out.printf("rows=%d out=%s%n", res.rows(), res.out());
      return GraftCli.EXIT_OK;
    }
  }

  @Command(name = "report", mixinStandardHelpOptions = true,
      description = {"One self-contained HTML report (charts embedded) from run folders and diagnostics JSON files: loss and",
          "accuracy per round, strategy comparison, probes, A-distances, verdicts and provenance."})
  static final class Report implements Callable<Integer> {
    @Parameters(paramLabel = "RUN", arity = "1..*", description = "Run folders (provenance.json, metrics.jsonl) or JSON files from divergence, probe, verdict, evaluate.")
    List<String> runs;
    @Option(names = "--out", required = true, paramLabel = "FILE", description = "The HTML file to write.")
    String out;
    @Option(names = "--title", defaultValue = "Graft transfer report")
    String title;

    @Override
    public Integer call() throws Exception {
      ReportJob.Result r = ReportJob.run(new ReportJob.Request(runs, out, title), new Storage(new Configuration()));
      System.out.printf("report=%s runs=%d charts=%d%n", r.out(), r.runs(), r.charts());
      return GraftCli.EXIT_OK;
    }
  }
}

package io.graft.jobs.bench;

import io.graft.config.ConfigLoader;
import io.graft.diagnostics.ReportJob;
import io.graft.diagnostics.VerdictJob;
import io.graft.engine.JobOptions;
import io.graft.jobs.finetune.FinetuneConfig;
import io.graft.jobs.finetune.FinetuneJob;
import io.graft.stats.Verdict;
import io.graft.store.Storage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;

/**
 * The fine-tuning benchmark: every strategy on the same target label budget over several seeds
 * (mean ± std of test accuracy, wall time, trainable parameters), plus feature extraction with
 * and without the feature cache in the same run. Prints the table and writes it as Markdown.
 */
public final class FinetuneBenchmark {
  private FinetuneBenchmark() {}

  /**
   * @param source pretrained model
   * @param train target training dataset (the label budget is drawn from it, stratified)
   * @param test target test dataset
   * @param labelsPerClass label budget per class
   * @param seeds seeds, one run each per strategy
   * @param strategies strategy presets to run
   * @param epochs rounds per run
   * @param work folder for the runs' outputs
   * @param report Markdown file to write
   * @param command the command line, recorded in the report
   * @param sets finetune config keys every run gets ({@code KEY=VALUE}), after the benchmark's own
   */
  public record Spec(String source, String train, String test, int labelsPerClass, List<Long> seeds, List<String> strategies,
      int epochs, Path work, Path report, String command, boolean cacheTiming, Path html, List<String> sets) {
    public Spec {
      sets = sets == null ? List.of() : List.copyOf(sets);
    }
  }

  /** One strategy's runs. */
  public record Row(String strategy, List<Double> accuracies, List<Double> wallSeconds, String trainable, List<Path> runs, Verdict verdict) {
    Row withVerdict(Verdict v) {
      return new Row(strategy, accuracies, wallSeconds, trainable, runs, v);
    }

    double mean() {
      return accuracies.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
    }

    double std() {
      double m = mean();
      return Math.sqrt(accuracies.stream().mapToDouble(a -> (a - m) * (a - m)).sum() / Math.max(1, accuracies.size() - 1));
    }

    double medianWall() {
      List<Double> s = new ArrayList<>(wallSeconds);
      s.sort(null);
      return s.get(s.size() / 2);
    }
  }

  public static List<Row> run(Spec spec, SparkSession spark, Consumer<String> log) throws Exception {
    Files.createDirectories(spec.work());
    List<Row> rows = new ArrayList<>();
    for (String strategy : spec.strategies()) {
      List<Double> acc = new ArrayList<>();
      List<Double> wall = new ArrayList<>();
      String trainable = "";
      List<Path> runs = new ArrayList<>();
      for (long seed : spec.seeds()) {
        Path out = spec.work().resolve(strategy + "-s" + seed);
        runs.add(out);
        FinetuneJob.Result r = FinetuneJob.run(config(spec, seed, out, "strategy=" + strategy), spark,
            JobOptions.quiet());
        acc.add(r.testAccuracy());
        wall.add(r.wallSeconds());
        trainable = String.join(" → ", r.stages().stream().map(s -> String.format(Locale.ROOT, "%,d", s.trainableParameters()))
            .distinct().toList());
        log.accept(String.format(Locale.ROOT, "[bench] %s seed %d: test accuracy %.2f%%, %.0f s", strategy, seed, 100 * r.testAccuracy(),
            r.wallSeconds()));
      }
      rows.add(new Row(strategy, acc, wall, trainable, runs, null));
    }
    rows = verdicts(spec, rows, log);
    // Feature extraction, cached vs through the frozen base, same seed, same run. A cached head always
    // trains on Graft's averaging; through the base it is measured on both engines, so the cache's own
    // effect and the engine's are told apart; the cached head also with one Spark job per averaging step
    // (sync: steps) against the default barrier rounds.
    long seed = spec.seeds().get(0);
    double[] roundSeconds = new double[4];
    double featurize = 0;
    String[][] variants = {{"true", "graft", "auto"}, {"false", "graft", "auto"}, {"false", "dl4j-spark", "auto"}, {"true", "graft", "steps"}};
    for (int v = 0; spec.cacheTiming() && v < variants.length; v++) {
      FinetuneJob.Result r = FinetuneJob.run(config(spec, seed, spec.work().resolve("cache-timing"), "stages=[{name: head, trainFrom: head, epochs: " + spec.epochs()
          + ", cacheFeatures: " + variants[v][0] + "}]", "training.engine=" + variants[v][1], "training.sync=" + variants[v][2]), spark, JobOptions.quiet());
      roundSeconds[v] = r.stages().get(0).meanRoundSeconds();
      if (v == 0) {
        featurize = r.stages().get(0).featurizeSeconds();
      }
      log.accept(String.format(Locale.ROOT, "[bench] feature extraction, cached %s, engine %s, sync %s: %.2f s per round, test accuracy %.2f%%",
          variants[v][0], variants[v][1], variants[v][2], roundSeconds[v], 100 * r.testAccuracy()));
    }
    String md = markdown(spec, rows, roundSeconds, featurize);
    Files.createDirectories(spec.report().toAbsolutePath().getParent());
    Path tmp = spec.report().resolveSibling("." + spec.report().getFileName() + ".tmp");
    Files.writeString(tmp, md);
    Files.move(tmp, spec.report(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    log.accept(md);
    return rows;
  }

  /**
   * Every strategy against scratch over the seeds: a negative-transfer verdict per strategy,
   * recorded in each run's provenance and written as JSON next to the runs; then the HTML report
   * over all runs and verdicts.
   */
  static List<Row> verdicts(Spec spec, List<Row> rows, Consumer<String> log) throws Exception {
    Row scratch = rows.stream().filter(r -> r.strategy().equals("scratch")).findFirst().orElse(null);
    Storage storage = new Storage(new Configuration());
    List<String> inputs = new ArrayList<>();
    rows.forEach(r -> r.runs().forEach(p -> inputs.add(p.toUri().toString())));
    List<Row> out = new ArrayList<>();
    for (Row r : rows) {
      if (scratch == null || r == scratch || spec.seeds().size() < 2) {
        out.add(r);
        continue;
      }
      Path json = spec.work().resolve("verdict-" + r.strategy() + ".json");
      VerdictJob.Output v = VerdictJob.run(new VerdictJob.Request(r.runs().stream().map(p -> p.toUri().toString()).toList(),
          scratch.runs().stream().map(p -> p.toUri().toString()).toList(), "test_accuracy", 0.05, 0.0, r.strategy() + " vs scratch", true,
          json.toUri().toString()), storage);
      inputs.add(json.toUri().toString());
      log.accept("[bench] " + r.strategy() + " vs scratch: " + v.verdict().summary());
      out.add(r.withVerdict(v.verdict()));
    }
    if (spec.html() != null) {
      ReportJob.Result report = ReportJob.run(new ReportJob.Request(inputs, spec.html().toUri().toString(),
          "Fine-tuning benchmark: " + spec.labelsPerClass() + " labels per class, seeds " + spec.seeds()), storage);
      log.accept("[bench] report: " + report.out() + " (" + report.charts() + " charts)");
    }
    return out;
  }

  private static FinetuneConfig config(Spec spec, long seed, Path output, String... extra) {
    List<String> sets = new ArrayList<>(List.of("source=" + spec.source(), "data.train=" + spec.train(), "data.test=" + spec.test(),
        "data.labelsPerClass=" + spec.labelsPerClass(), "epochs=" + spec.epochs(), "training.seed=" + seed,
        "training.batchSizePerWorker=32", "training.averagingFrequency=5", "adapters.after=[dense1]",
        "output=" + output.toUri()));
    sets.addAll(spec.sets());
    sets.addAll(List.of(extra));
    return ConfigLoader.load(null, sets, FinetuneConfig.class);
  }

  static String markdown(Spec spec, List<Row> rows, double[] roundSeconds, double featurize) {
    StringBuilder sb = new StringBuilder();
    Row scratch = rows.stream().filter(r -> r.strategy().equals("scratch")).findFirst().orElse(null);
    sb.append(String.format(Locale.ROOT, "### %,d labelled target images (%d per class), %d rounds, seeds %s%n%n",
        spec.labelsPerClass() * 10, spec.labelsPerClass(), spec.epochs(), spec.seeds()));
    sb.append("```\n").append(spec.command()).append("\n```\n\n");
    sb.append("| strategy | test accuracy (mean ± std) | vs scratch | verdict (Welch p, Hedges' g) | wall s (median) | trainable parameters |\n");
    sb.append("|---|---|---|---|---|---|\n");
    for (Row r : rows) {
      String vs = scratch == null || r == scratch ? "—" : String.format(Locale.ROOT, "%+.2f pt", 100 * (r.mean() - scratch.mean()));
      Verdict v = r.verdict();
      String verdict = v == null ? "—" : String.format(Locale.ROOT, "%s (p = %.3g, g = %s)", v.outcome(), v.pValue(),
          v.hedgesG() == null ? "n/a" : String.format(Locale.ROOT, "%.2f", v.hedgesG()));
      sb.append(String.format(Locale.ROOT, "| %s | %.2f ± %.2f %% | %s | %s | %.0f | %s |%n", r.strategy(), 100 * r.mean(), 100 * r.std(), vs,
          verdict, r.medianWall(), r.trainable()));
    }
    sb.append(String.format(Locale.ROOT, "%nPer-seed test accuracy: %s%n%nHost: %s.%n", perSeed(rows), BenchHost.line()));
    if (!spec.cacheTiming()) {
      return sb.toString();
    }
    sb.append(String.format(Locale.ROOT,
        "%nFeature extraction, one head round (mean over its rounds, seed %d): %.2f s on cached features (Graft averaging) vs "
            + "%.2f s through the frozen base on dl4j-spark (%.1fx) and %.2f s through the frozen base on Graft averaging (%.1fx); "
            + "computing the cache once took %.2f s. The cached head with one Spark job per averaging step (sync: steps) instead of one "
            + "barrier job per round: %.2f s per round.%n", spec.seeds().get(0), roundSeconds[0], roundSeconds[2], roundSeconds[2] / roundSeconds[0],
        roundSeconds[1], roundSeconds[1] / roundSeconds[0], featurize, roundSeconds[3]));
    return sb.toString();
  }

  private static String perSeed(List<Row> rows) {
    Map<String, String> m = new LinkedHashMap<>();
    for (Row r : rows) {
      m.put(r.strategy(), r.accuracies().stream().map(a -> String.format(Locale.ROOT, "%.2f", 100 * a)).toList().toString());
    }
    return m.toString();
  }
}

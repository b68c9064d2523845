package io.graft.diagnostics;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

import io.graft.config.ConfigException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.apache.spark.ml.classification.LogisticRegression;
import org.apache.spark.ml.classification.LogisticRegressionModel;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.storage.StorageLevel;

/**
 * The proxy A-distance between two domains (Ben-David et al.): d_A = 2 (1 - 2 eps), where eps is
 * the held-out error of a classifier trained to tell the domains apart.
 *
 * <p>Procedure: both domains are cut to the same number of rows, so chance error is 0.5; the
 * union is split 50 / 25 / 25 into train, selection and test. One L2-regularised logistic
 * regression (Spark ML) is fit per value of the regularisation grid; the value with the lowest
 * selection error is kept and its error on the test split is eps. Reporting the error of a third
 * split, not the minimum over the grid on the split that chose it, keeps eps from being biased
 * low. eps is clamped to at most 0.5 (a classifier worse than chance says the domains are
 * indistinguishable, not "negatively distant"), so d_A is always in [0, 2]. The 95 % interval is
 * a percentile bootstrap over the test split's predictions: it covers the test sample's noise,
 * not the variation of refitting the classifier.
 */
public final class ProxyADistance {
  /** Regularisation grid (Spark ML's regParam, L2). */
  public static final double[] DEFAULT_GRID = {1e-4, 1e-3, 1e-2, 1e-1, 1.0};

  private ProxyADistance() {}

  /** Settings: the grid, bootstrap draws, LBFGS iterations and the split seed. */
  public record Options(double[] grid, int bootstrap, int maxIter, long seed) {
    public Options {
      ConfigException.require(grid != null && grid.length > 0, "the regularisation grid needs at least one value");
      for (double g : grid) {
        ConfigException.require(g >= 0, "regularisation values must be non-negative, cannot be: %s", g);
      }
      ConfigException.require(bootstrap >= 100, "bootstrap draws must be at least 100, cannot be: %s", bootstrap);
      ConfigException.require(maxIter >= 1, "maxIter must be at least 1, cannot be: %s", maxIter);
    }

    public static Options defaults(long seed) {
      return new Options(DEFAULT_GRID, 1000, 100, seed);
    }
  }

  /** One grid point: its regularisation and selection-split error. */
  public record GridPoint(double regParam, double selectionError) {}

  /**
   * The result.
   *
   * @param error eps, the test-split error, clamped to at most 0.5
   * @param rawError the test-split error before clamping
   * @param lower 2.5th percentile of d_A over bootstrap draws
   * @param upper 97.5th percentile
   */
  public record Result(double aDistance, double lower, double upper, double error, double rawError, double regParam, List<GridPoint> grid,
      long rowsPerDomain, long trainRows, long selectionRows, long testRows) {}

  /** d_A from an error, with eps clamped to [0, 0.5]. */
  public static double fromError(double error) {
    double eps = Math.min(0.5, Math.max(0, error));
    return 2 * (1 - 2 * eps);
  }

  /**
   * Computes d_A between {@code source} and {@code target} (frames of {@link LayerFeatures#SCHEMA};
   * their labels are ignored). Both should already be cut to the same number of rows.
   */
  public static Result compute(Dataset<Row> source, Dataset<Row> target, Options options) {
    Dataset<Row> all = source.select(lit(0.0).as("label"), col("features"))
        .union(target.select(lit(1.0).as("label"), col("features")));
    int parallelism = source.sparkSession().sparkContext().defaultParallelism();
    Dataset<Row>[] split = all.coalesce(parallelism).randomSplit(new double[] {0.5, 0.25, 0.25}, options.seed());
    for (Dataset<Row> s : split) {
      s.persist(StorageLevel.MEMORY_AND_DISK());
    }
    try {
      long trainRows = split[0].count();
      long selectionRows = split[1].count();
      long testRows = split[2].count();
      ConfigException.require(trainRows >= 10 && selectionRows >= 5 && testRows >= 5,
          "Too few rows for a domain classifier: %s train, %s selection, %s test", trainRows, selectionRows, testRows);
      List<GridPoint> grid = new ArrayList<>();
      LogisticRegressionModel best = null;
      double bestError = Double.MAX_VALUE;
      double bestReg = 0;
      for (double reg : options.grid()) {
        LogisticRegressionModel m = new LogisticRegression().setRegParam(reg).setElasticNetParam(0).setMaxIter(options.maxIter())
            .setFamily("binomial").fit(split[0]);
        double err = error(m.transform(split[1]));
        grid.add(new GridPoint(reg, err));
        if (err < bestError) {
          bestError = err;
          best = m;
          bestReg = reg;
        }
      }
      List<Row> predictions = best.transform(split[2]).select("label", "prediction").collectAsList();
      boolean[] wrong = new boolean[predictions.size()];
      int errors = 0;
      for (int i = 0; i < wrong.length; i++) {
        wrong[i] = predictions.get(i).getDouble(0) != predictions.get(i).getDouble(1);
        errors += wrong[i] ? 1 : 0;
      }
      double rawError = (double) errors / wrong.length;
      double[] draws = bootstrap(wrong, options.bootstrap(), options.seed());
      double distance = fromError(rawError);
      // Counted on the cached splits: counting `source` itself would compute its features a second time.
      long sourceRows = 0;
      for (Dataset<Row> s : split) {
        sourceRows += s.filter(col("label").equalTo(0.0)).count();
      }
      return new Result(distance, percentile(draws, 0.025), percentile(draws, 0.975), Math.min(0.5, rawError), rawError, bestReg, grid,
          sourceRows, trainRows, selectionRows, testRows);
    } finally {
      for (Dataset<Row> s : split) {
        s.unpersist(false);
      }
    }
  }

  static double error(Dataset<Row> predicted) {
    Row r = predicted.selectExpr("avg(cast(label != prediction as double))").first();
    return r.getDouble(0);
  }

  /** d_A of {@code draws} resamples (with replacement) of the test split's mistakes, sorted. */
  static double[] bootstrap(boolean[] wrong, int draws, long seed) {
    Random rng = new Random(seed);
    int n = wrong.length;
    double[] out = new double[draws];
    for (int b = 0; b < draws; b++) {
      int errors = 0;
      for (int i = 0; i < n; i++) {
        errors += wrong[rng.nextInt(n)] ? 1 : 0;
      }
      out[b] = fromError((double) errors / n);
    }
    Arrays.sort(out);
    return out;
  }

  static double percentile(double[] sorted, double q) {
    double pos = q * (sorted.length - 1);
    int lo = (int) Math.floor(pos);
    int hi = (int) Math.ceil(pos);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
  }
}

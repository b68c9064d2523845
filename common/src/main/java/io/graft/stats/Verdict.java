package io.graft.stats;

import com.fasterxml.jackson.annotation.JsonValue;
import io.graft.config.ConfigException;
import java.util.Arrays;
import java.util.Locale;
import org.apache.commons.math3.stat.inference.TTest;

/**
 * Whether transfer helped: a result measured over several seeds against its baseline (scratch
 * or source-only) measured over several seeds.
 *
 * <p>The test is Welch's two-sided t-test (unequal variances); the effect size is Hedges' g
 * (Cohen's d with the small-sample correction). A difference counts only when it is significant
 * at {@code alpha} and at least {@code minEffect} in the metric's own units; otherwise the
 * verdict is {@code neutral}. With 3 seeds a side the test has little power: a neutral verdict
 * means "not shown", not "no effect".
 *
 * @param outcome positive, neutral or negative
 * @param difference treatment mean minus baseline mean (higher is better)
 * @param hedgesG the standardised difference; null when both sides have zero variance
 * @param pValue Welch's two-sided p-value
 */
public record Verdict(
    Outcome outcome,
    String metric,
    double[] treatment,
    double[] baseline,
    double treatmentMean,
    double treatmentStd,
    double baselineMean,
    double baselineStd,
    double difference,
    Double hedgesG,
    double pValue,
    double alpha,
    double minEffect,
    String reason) {

  /** The three verdicts. */
  public enum Outcome {
    POSITIVE, NEUTRAL, NEGATIVE;

    @Override
    @JsonValue
    public String toString() {
      return name().toLowerCase();
    }
  }

  /**
   * Compares {@code treatment} with {@code baseline} (one value per seed each, higher better).
   *
   * @throws ConfigException when a side has fewer than 2 values or a value is not finite
   */
  public static Verdict compare(String metric, double[] treatment, double[] baseline, double alpha, double minEffect) {
    requireRuns("treatment", treatment);
    requireRuns("baseline", baseline);
    ConfigException.require(alpha > 0 && alpha < 1, "significance level must be in (0, 1), cannot be: %s", alpha);
    ConfigException.require(minEffect >= 0, "minimum effect must be non-negative, cannot be: %s", minEffect);
    double mt = mean(treatment);
    double mb = mean(baseline);
    double vt = variance(treatment, mt);
    double vb = variance(baseline, mb);
    double diff = mt - mb;
    double p;
    Double g;
    if (vt == 0 && vb == 0) {
      // Deterministic on both sides: any difference is certain, none is no evidence.
      p = diff == 0 ? 1.0 : 0.0;
      g = null;
    } else {
      p = new TTest().tTest(treatment, baseline);
      int n1 = treatment.length;
      int n2 = baseline.length;
      double pooled = Math.sqrt(((n1 - 1) * vt + (n2 - 1) * vb) / (n1 + n2 - 2));
      double correction = 1 - 3.0 / (4.0 * (n1 + n2) - 9);
      g = diff / pooled * correction;
    }
    Outcome outcome;
    String reason;
    if (p >= alpha) {
      outcome = Outcome.NEUTRAL;
      reason = String.format("difference %+.4f is not significant (Welch p = %.3g >= %.3g)", diff, p, alpha);
    } else if (Math.abs(diff) < minEffect) {
      outcome = Outcome.NEUTRAL;
      reason = String.format("difference %+.4f is significant (p = %.3g) but smaller than the minimum effect %.4f", diff, p, minEffect);
    } else {
      outcome = diff > 0 ? Outcome.POSITIVE : Outcome.NEGATIVE;
      reason = String.format("%s %s the baseline by %+.4f (Welch p = %.3g < %.3g%s)", metric, diff > 0 ? "beats" : "falls below", diff, p,
          alpha, g == null ? "" : String.format(", Hedges' g = %.2f", g));
    }
    return new Verdict(outcome, metric, treatment.clone(), baseline.clone(), mt, Math.sqrt(vt), mb, Math.sqrt(vb), diff, g, p, alpha,
        minEffect, reason);
  }

  /** One line for logs: the outcome, means and stds, difference, p and g. */
  public String summary() {
    return String.format("%s: %s %.4f +- %.4f (n=%d) vs baseline %.4f +- %.4f (n=%d); %s", outcome, metric, treatmentMean, treatmentStd,
        treatment.length, baselineMean, baselineStd, baseline.length, reason);
  }

  /**
   * The verdict as a sentence: "gradual-unfreeze beats scratch by 20.94 points on UCI digits
   * (p = 0.00022)". A {@code label} of the form "A vs B (context)" names the two sides; a metric
   * in [0, 1] is spoken of in points (hundredths).
   */
  public static String inWords(String label, String outcome, double difference, double pValue) {
    String treatment = "transfer";
    String baseline = "the baseline";
    String context = "";
    String rest = label == null ? "" : label.trim();
    int paren = rest.indexOf(" (");
    if (paren > 0 && rest.endsWith(")")) {
      context = " on " + rest.substring(paren + 2, rest.length() - 1);
      rest = rest.substring(0, paren);
    }
    int vs = rest.indexOf(" vs ");
    if (vs > 0) {
      treatment = rest.substring(0, vs);
      baseline = rest.substring(vs + 4);
    }
    String amount = Math.abs(difference) <= 1 ? String.format("%.2f points", 100 * Math.abs(difference))
        : String.format("%.4g", Math.abs(difference));
    String p = String.format("p = %.2g", pValue);
    return switch (outcome.toLowerCase(Locale.ROOT)) {
      case "positive" -> String.format("%s beats %s by %s%s (%s)", treatment, baseline, amount, context, p);
      case "negative" -> String.format("%s loses to %s by %s%s (%s)", treatment, baseline, amount, context, p);
      default -> String.format("%s is level with %s within the noise%s (%s%s, %s)", treatment, baseline, context,
          difference < 0 ? "-" : "+", amount, p);
    };
  }

  private static void requireRuns(String side, double[] values) {
    ConfigException.require(values != null && values.length >= 2,
        "A verdict needs at least 2 runs (seeds) on each side; the %s has %s", side, values == null ? 0 : values.length);
    for (double v : values) {
      ConfigException.require(Double.isFinite(v), "The %s has a non-finite value: %s", side, Arrays.toString(values));
    }
  }

  static double mean(double[] v) {
    return Arrays.stream(v).average().orElse(Double.NaN);
  }

  /** Sample variance (n - 1). */
  static double variance(double[] v, double mean) {
    double s = 0;
    for (double x : v) {
      s += (x - mean) * (x - mean);
    }
    return s / (v.length - 1);
  }
}

package io.graft.stats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import io.graft.config.ConfigException;
import io.graft.stats.Verdict.Outcome;
import org.junit.jupiter.api.Test;

class VerdictTest {
  @Test
  void welchTestAndHedgesGMatchHandComputedValues() {
    // treatment mean 0.80, var 1e-4; baseline mean 0.70, var 4e-4; n = 3 each.
    // t = 0.1 / sqrt(1e-4/3 + 4e-4/3) = 7.746; Welch df = 2.941; two-sided p = 0.0048 (scipy.stats.ttest_ind(equal_var=False)).
    // pooled sd = sqrt(2.5e-4) = 0.015811; d = 6.3246; J = 1 - 3 / (4 * 6 - 9) = 0.8; g = 5.0596.
    Verdict v = Verdict.compare("test_accuracy", new double[] {0.79, 0.80, 0.81}, new double[] {0.68, 0.70, 0.72}, 0.05, 0);
    assertThat(v.outcome()).isEqualTo(Outcome.POSITIVE);
    assertThat(v.difference()).isCloseTo(0.10, offset(1e-12));
    assertThat(v.treatmentStd()).isCloseTo(0.01, offset(1e-12));
    assertThat(v.baselineStd()).isCloseTo(0.02, offset(1e-12));
    assertThat(v.hedgesG()).isCloseTo(5.0596, offset(1e-3));
    assertThat(v.pValue()).isCloseTo(0.0048, offset(3e-4));
  }

  @Test
  void aClearLossIsNegativeAndOverlapIsNeutral() {
    Verdict worse = Verdict.compare("acc", new double[] {0.6654, 0.6222, 0.6152}, new double[] {0.7591, 0.7497, 0.7598}, 0.05, 0);
    assertThat(worse.outcome()).isEqualTo(Outcome.NEGATIVE);
    assertThat(worse.hedgesG()).isNegative();
    assertThat(worse.reason()).contains("falls below the baseline");

    Verdict level = Verdict.compare("acc", new double[] {0.7761, 0.7532, 0.7402}, new double[] {0.7591, 0.7497, 0.7598}, 0.05, 0);
    assertThat(level.outcome()).isEqualTo(Outcome.NEUTRAL);
    assertThat(level.pValue()).isGreaterThan(0.05);
  }

  @Test
  void aSignificantButTinyDifferenceIsNeutralUnderAMinimumEffect() {
    double[] a = {0.9000, 0.9001, 0.9002};
    double[] b = {0.8990, 0.8991, 0.8992};
    assertThat(Verdict.compare("acc", a, b, 0.05, 0).outcome()).isEqualTo(Outcome.POSITIVE);
    assertThat(Verdict.compare("acc", a, b, 0.05, 0.005).outcome()).isEqualTo(Outcome.NEUTRAL);
  }

  @Test
  void zeroVarianceOnBothSidesDecidesBySignWithoutAnEffectSize() {
    Verdict v = Verdict.compare("acc", new double[] {0.5, 0.5}, new double[] {0.6, 0.6}, 0.05, 0);
    assertThat(v.outcome()).isEqualTo(Outcome.NEGATIVE);
    assertThat(v.hedgesG()).isNull();
    assertThat(Verdict.compare("acc", new double[] {0.5, 0.5}, new double[] {0.5, 0.5}, 0.05, 0).outcome()).isEqualTo(Outcome.NEUTRAL);
  }

  @Test
  void tooFewRunsOrNonFiniteValuesAreRefusedWithTheSideNamed() {
    assertThatThrownBy(() -> Verdict.compare("acc", new double[] {0.5}, new double[] {0.6, 0.7}, 0.05, 0))
        .isInstanceOf(ConfigException.class).hasMessage("A verdict needs at least 2 runs (seeds) on each side; the treatment has 1");
    assertThatThrownBy(() -> Verdict.compare("acc", new double[] {0.5, 0.6}, new double[] {Double.NaN, 0.7}, 0.05, 0))
        .isInstanceOf(ConfigException.class).hasMessageStartingWith("The baseline has a non-finite value");
  }

  @Test
  void aVerdictReadsAsASentenceNamingBothSides() {
    assertThat(Verdict.inWords("gradual-unfreeze vs scratch (UCI digits, 10 labels per class)", "positive", 0.2094, 0.00022))
        .isEqualTo("gradual-unfreeze beats scratch by 20.94 points on UCI digits, 10 labels per class (p = 0.00022)");
    assertThat(Verdict.inWords("two-stage vs scratch", "neutral", -0.0384, 0.1855))
        .isEqualTo("two-stage is level with scratch within the noise (-3.84 points, p = 0.19)");
    assertThat(Verdict.inWords(null, "negative", -0.05, 0.01)).isEqualTo("transfer loses to the baseline by 5.00 points (p = 0.010)");
  }
}

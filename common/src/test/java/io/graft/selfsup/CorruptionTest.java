package io.graft.selfsup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class CorruptionTest {
  @Test
  void masksWholePatchesAtAboutTheConfiguredRateAndLeavesTheInputAlone() {
    float[] x = new float[28 * 28];
    Arrays.fill(x, 0.5f);
    Corruption c = new Corruption(0.5, 4, 0.0);
    long zeroed = 0;
    for (int trial = 0; trial < 200; trial++) {
      float[] y = c.apply(x, new int[] {1, 28, 28}, new Random(trial));
      for (int py = 0; py < 28; py += 4) {
        for (int px = 0; px < 28; px += 4) {
          float first = y[py * 28 + px];
          for (int dy = 0; dy < 4; dy++) {
            for (int dx = 0; dx < 4; dx++) {
              assertThat(y[(py + dy) * 28 + px + dx]).as("a patch is masked whole or not at all").isEqualTo(first);
            }
          }
          zeroed += first == 0f ? 1 : 0;
        }
      }
    }
    assertThat(zeroed / (200.0 * 49)).isBetween(0.45, 0.55);
    assertThat(x).containsOnly(0.5f);
  }

  @Test
  void flatFeaturesAreMaskedOneByOne() {
    float[] x = new float[1000];
    Arrays.fill(x, 1f);
    float[] y = new Corruption(0.3, 4, 0.0).apply(x, new int[] {1000}, new Random(1));
    long zeros = 0;
    for (float v : y) {
      zeros += v == 0f ? 1 : 0;
    }
    assertThat(zeros).isBetween(250L, 350L);
  }

  @Test
  void refusesACorruptionThatLeavesTheInputIntact() {
    assertThatThrownBy(() -> new Corruption(0, 4, 0))
        .hasMessage("A reconstruction objective needs objective.mask or objective.noise above 0 (otherwise it learns the identity)");
    assertThatThrownBy(() -> new Corruption(1.0, 4, 0)).hasMessage("objective.mask must be in [0, 1), cannot be: 1.0");
  }
}

package io.graft.selfsup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.graft.config.ConfigLoader;
import java.util.List;
import org.junit.jupiter.api.Test;

class ObjectiveTest {
  @Test
  void readsEachObjectiveFromSettingsWithDefaults() {
    Objective reconstruction = ConfigLoader.load(null, List.of("kind=reconstruction", "mask=0.5", "patch=4", "noise=0.0"), Objective.class);
    assertThat(reconstruction.corruption()).isEqualTo(new Corruption(0.5, 4, 0.0));
    Objective contrastive = ConfigLoader.load(null, List.of("kind=Contrastive"), Objective.class);
    assertThat(contrastive.temperature()).isEqualTo(0.5);
    assertThat(contrastive.projection()).containsExactly(256, 64);
    assertThat(contrastive.selfSupervised()).isTrue();
    assertThat(ConfigLoader.load(null, List.of(), Objective.class).selfSupervised()).isFalse();
  }

  @Test
  void badSettingsAreNamed() {
    assertThatThrownBy(() -> ConfigLoader.load(null, List.of("kind=simclr"), Objective.class))
        .hasMessageContaining("objective.kind must be supervised, contrastive or reconstruction, cannot be: simclr");
    assertThatThrownBy(() -> ConfigLoader.load(null, List.of("kind=contrastive", "temperature=0"), Objective.class))
        .hasMessageContaining("objective.temperature must be positive, cannot be: 0.0");
    assertThatThrownBy(() -> ConfigLoader.load(null, List.of("kind=reconstruction", "mask=0"), Objective.class))
        .hasMessageContaining("needs objective.mask or objective.noise above 0");
  }
}

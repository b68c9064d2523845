package io.graft.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.graft.model.ModelConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
  /** A small config shaped like a job's: nested sections with defaults. */
  record JobConfig(ModelConfig model, OptimizerConfig optimizer, TrainingConfig training, String output) {}

  @TempDir Path dir;

  private Path yaml(String text) throws Exception {
    Path f = dir.resolve("job.yaml");
    Files.writeString(f, text);
    return f;
  }

  @Test
  void setOverridesWinOverTheFileAndDefaultsFillTheRest() throws Exception {
    Path f = yaml("model:\n  architecture: mlp\n  hidden: [32]\noptimizer:\n  learningRate: 0.01\noutput: /tmp/x\n");
    JobConfig c = ConfigLoader.load(f, List.of("optimizer.learningRate=0.05", "training.epochs=7", "model.hidden=[8, 4]"), JobConfig.class);
    assertThat(c.optimizer().learningRate()).isEqualTo(0.05);
    assertThat(c.optimizer().updater()).isEqualTo(OptimizerConfig.Updater.ADAM);
    assertThat(c.training().epochs()).isEqualTo(7);
    assertThat(c.training().batchSizePerWorker()).isEqualTo(64);
    assertThat(c.model().architecture()).isEqualTo(ModelConfig.Architecture.MLP);
    assertThat(c.model().hidden()).containsExactly(8, 4);
  }

  @Test
  void unknownKeyIsNamedWithItsPath() throws Exception {
    Path f = yaml("training:\n  epochz: 3\n");
    assertThatThrownBy(() -> ConfigLoader.load(f, List.of(), JobConfig.class))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("Unknown config key 'training.epochz' in " + f)
        .hasMessageContaining("epochs");
  }

  @Test
  void unknownKeyFromSetIsNamed() {
    assertThatThrownBy(() -> ConfigLoader.load(null, List.of("optimiser.learningRate=0.1"), JobConfig.class))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("Unknown config key 'optimiser' in --set");
  }

  @Test
  void negativeLearningRateIsRefused() {
    assertThatThrownBy(() -> ConfigLoader.load(null, List.of("optimizer.learningRate=-0.1"), JobConfig.class))
        .isInstanceOf(ConfigException.class)
        .hasMessage("optimizer.learningRate must be positive, cannot be: -0.1");
  }

  @Test
  void badEnumValueListsTheChoices() {
    assertThatThrownBy(() -> ConfigLoader.load(null, List.of("optimizer.updater=adamw"), JobConfig.class))
        .isInstanceOf(ConfigException.class)
        .hasMessage("Invalid value 'adamw' for config key 'optimizer.updater' in --set: expected one of adam, sgd, nesterovs, rmsprop");
  }

  @Test
  void wrongTypeIsNamed() {
    assertThatThrownBy(() -> ConfigLoader.load(null, List.of("training.epochs=many"), JobConfig.class))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("'training.epochs'");
  }

  @Test
  void missingFileAndUnparsableYamlAreNamed() throws Exception {
    assertThatThrownBy(() -> ConfigLoader.load(dir.resolve("nope.yaml"), List.of(), JobConfig.class))
        .hasMessage("Config file not found: " + dir.resolve("nope.yaml"));
    Path bad = yaml("model: [unclosed\n");
    assertThatThrownBy(() -> ConfigLoader.load(bad, List.of(), JobConfig.class))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("Cannot parse config file " + bad);
  }

  @Test
  void malformedSetIsRefused() {
    assertThatThrownBy(() -> ConfigLoader.load(null, List.of("training.epochs"), JobConfig.class))
        .hasMessage("Invalid --set 'training.epochs': expected key.path=value");
  }
}

package io.graft.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import io.graft.jobs.demo.DemoJob;
import io.graft.testing.SparkTests;
import io.graft.testing.TestData;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo end to end, shortened: the real fetch, import of all of MNIST, and LeNet on 3,000
 * training rows for one round. The full run (60k rows, 3 rounds) is the README's first command.
 */
class DemoJobTest {
  @TempDir Path out;

  @Test
  void demoWritesDataAndModelAndTheReloadedZipScoresTheSame() throws Exception {
    // Reuse the test run's verified raw files rather than fetching them a second time.
    Path raw = Files.createDirectories(out.resolve("data/raw"));
    Files.createSymbolicLink(raw.resolve("mnist"), TestData.raw("mnist"));
    DemoJob.Result r = DemoJob.run(new DemoJob.DemoConfig(out, 1, 3000), SparkTests.spark(), s -> {});
    assertThat(out.resolve("data/mnist/train/_manifest.json")).exists();
    assertThat(out.resolve("data/mnist/test/_manifest.json")).exists();
    assertThat(out.resolve("models/lenet-mnist/model.zip")).exists();
    assertThat(r.testAccuracy()).isGreaterThan(0.7);
    assertThat(r.reloadedAccuracy()).isEqualTo(r.testAccuracy());
  }
}

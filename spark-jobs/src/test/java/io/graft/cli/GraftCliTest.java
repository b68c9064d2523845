package io.graft.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.graft.testing.SparkTests;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The real entry point, as the launcher and spark-submit call it. */
class GraftCliTest {
  @TempDir Path dir;

  /** Exit code and what went to stdout / stderr. */
  record Run(int code, String out, String err) {}

  private static synchronized Run graft(String... args) {
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(out, true));
      System.setErr(new PrintStream(err, true));
      int code = GraftCli.run(args);
      return new Run(code, out.toString(), err.toString());
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
  }

  @Test
  void helpListsEveryCommandAndOption() {
    Run top = graft("--help");
    assertThat(top.code()).isZero();
    assertThat(top.out()).contains("fetch-data", "import", "pretrain", "demo");
    Run pretrain = graft("pretrain", "--help");
    assertThat(pretrain.out()).contains("--config", "--set", "--resume", "--master", "--spark-conf");
  }

  @Test
  void unknownConfigKeyIsOneLineAndExitTwo() throws Exception {
    Path yaml = dir.resolve("p.yaml");
    Files.writeString(yaml, "data:\n  train: x\ntraining:\n  epocs: 2\noutput: y\n");
    Run r = graft("pretrain", "--config", yaml.toString());
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err().strip().lines()).hasSize(1);
    assertThat(r.err()).startsWith("graft: error: Unknown config key 'training.epocs' in " + yaml);
  }

  @Test
  void missingDatasetIsNamedBeforeSparkStarts() {
    Run r = graft("pretrain", "--set", "data.train=" + dir.resolve("nope"), "--set", "output=" + dir.resolve("out"));
    assertThat(r.code()).isEqualTo(2);
    // the driver's INFO log lines reach this stream too when log4j starts inside the capture (this class run alone)
    assertThat(r.err().lines().filter(l -> !l.matches("\\d\\d:\\d\\d:\\d\\d INFO .*")).toList())
        .containsExactly("graft: error: Cannot use training dataset: Dataset not found: " + dir.resolve("nope"));
  }

  @Test
  void unknownImportFormatListsTheFormats() {
    Run r = graft("import", "--format", "tfrecord", "--input", "a", "--output", "b");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("unknown format 'tfrecord' (use idx, digits-csv, reviews-json, csv, libsvm, image-folder, image-list or image-table)");
  }

  @Test
  void pretrainFromTheCommandLineOnRealData() throws Exception {
    Path yaml = dir.resolve("mlp.yaml");
    Files.writeString(yaml, String.join("\n",
        "data:", "  train: " + SparkTests.mnistTrain(), "  test: " + SparkTests.mnistTest(),
        "model:", "  architecture: mlp", "  hidden: [32]",
        "training:", "  epochs: 1", "output: " + dir.resolve("model")));
    SparkTests.spark();
    Run r = graft("pretrain", "--config", yaml.toString(), "--set", "optimizer.learningRate=0.003");
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out()).contains("[pretrain] round 1/1").containsPattern("test_accuracy=0\\.\\d{4}");
    double accuracy = Double.parseDouble(r.out().substring(r.out().indexOf("test_accuracy=") + 14).strip());
    assertThat(accuracy).isGreaterThan(0.7);
    assertThat(dir.resolve("model/model.zip")).exists();
  }
}

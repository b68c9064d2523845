package io.graft.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import io.graft.cli.GraftCli;
import io.graft.data.Manifest;
import io.graft.jobs.adversarial.DannJob;
import io.graft.jobs.importer.ImportJob;
import io.graft.jobs.pretrain.PretrainJob;
import io.graft.store.Storage;
import io.graft.testing.SparkTests;
import io.graft.testing.TestData;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Supplier;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The jobs' {@code main} (what {@code spark-submit --class} runs) against {@code graft COMMAND}: one contract, one outcome. */
class JobMainTest {
  @TempDir Path dir;

  record Run(int code, String out, String err) {}

  private static synchronized Run capture(Supplier<Integer> body) {
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(out, true));
      System.setErr(new PrintStream(err, true));
      return new Run(body.get(), out.toString(), err.toString());
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
  }

  private static String digits() {
    return TestData.raw("digits").resolve("digits.csv.gz").toString();
  }

  @Test
  void aJobsMainImportsWhatTheCommandImports() throws Exception {
    SparkTests.spark();
    String digits = digits();
    Path viaMain = dir.resolve("main");
    Path viaCli = dir.resolve("cli");
    Run main = capture(() -> JobMain.run(ImportJob.JOB, "--format", "digits-csv", "--input", digits, "--output", viaMain.toString(),
        "--num-classes", "10"));
    Run cli = capture(() -> GraftCli.run("import", "--format", "digits-csv", "--input", digits, "--output", viaCli.toString(),
        "--num-classes", "10"));
    assertThat(main.code()).as(main.err()).isZero();
    assertThat(cli.code()).as(cli.err()).isZero();
    Storage storage = new Storage(new Configuration());
    Manifest a = Manifest.read(storage, storage.path(viaMain.toString()));
    Manifest b = Manifest.read(storage, storage.path(viaCli.toString()));
    assertThat(a.rowCount()).isEqualTo(1797).isEqualTo(b.rowCount());
    assertThat(a.numFeatures()).isEqualTo(64).isEqualTo(b.numFeatures());
    assertThat(main.out()).contains("[import] imported 1,797 rows (10 classes, 64 features)");
    assertThat(main.out().replace(viaMain.toString(), "OUT")).isEqualTo(cli.out().replace(viaCli.toString(), "OUT"));
  }

  @Test
  void aJobsMainRefusesBadInputInOneLineWithStatusTwoAndWritesNothing() {
    Path out = dir.resolve("never");
    Run option = capture(() -> JobMain.run(ImportJob.JOB, "--format", "digits-csv", "--inptu", digits(), "--output", out.toString()));
    assertThat(option.code()).isEqualTo(ExitStatus.BAD_INPUT);
    assertThat(option.err()).startsWith("graft: error: ").contains("--input");
    Run key = capture(() -> JobMain.run(PretrainJob.JOB, "--set", "training.epocs=1"));
    assertThat(key.code()).isEqualTo(ExitStatus.BAD_INPUT);
    assertThat(key.err().strip()).startsWith("graft: error: Unknown config key 'training.epocs' in --set").doesNotContain("\n");
    Run missing = capture(() -> JobMain.run(PretrainJob.JOB, "--set", "data.train=" + dir.resolve("nope"), "--set", "output=" + out));
    assertThat(missing.code()).isEqualTo(ExitStatus.BAD_INPUT);
    assertThat(missing.err().strip()).isEqualTo("graft: error: Cannot use training dataset: Dataset not found: " + dir.resolve("nope"));
    assertThat(Files.exists(out)).isFalse();
  }

  @Test
  void settingsAJobDoesNotUseAreRefusedByName() {
    Run dann = capture(() -> JobMain.run(DannJob.JOB, "--set", "training.engine=graft"));
    assertThat(dann.code()).isEqualTo(ExitStatus.BAD_INPUT);
    assertThat(dann.err().strip()).startsWith("graft: error: Config key 'training.engine' in --set is not used here: dann trains");
    Run multitask = capture(() -> GraftCli.run("multitask", "--set", "training.maxRows=100"));
    assertThat(multitask.code()).isEqualTo(ExitStatus.BAD_INPUT);
    assertThat(multitask.err().strip()).startsWith("graft: error: Config key 'training.maxRows' in --set is not used here: multitask");
    // keys the job does use still bind: the refusal is the next check's (no source dataset)
    Run used = capture(() -> JobMain.run(DannJob.JOB, "--set", "training.maxRows=100"));
    assertThat(used.code()).isEqualTo(ExitStatus.BAD_INPUT);
    assertThat(used.err()).doesNotContain("not used here");
  }

  @Test
  void aJobsMainPrintsItsHelp() {
    Run help = capture(() -> JobMain.run(PretrainJob.JOB, "--help"));
    assertThat(help.code()).isZero();
    assertThat(help.out()).contains("--config", "--set", "--resume", "--master", "--spark-conf");
  }
}

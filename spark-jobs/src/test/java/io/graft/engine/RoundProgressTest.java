package io.graft.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.graft.spark.GraftSpark;
import io.graft.testing.SparkTests;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

/** Progress within a round, counted from the Spark tasks of the jobs that say which round they belong to. */
class RoundProgressTest {
  @Test
  void aLongRoundSaysTheTasksDoneAndFromTheSecondRoundOnTheShareAndTheTimeLeft() throws Exception {
    SparkSession spark = SparkTests.spark();
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    List<String> lines = new CopyOnWriteArrayList<>();
    try (RoundProgress progress = new RoundProgress(spark.sparkContext(), lines::add, 100)) {
      for (int round = 1; round <= 2; round++) {
        progress.onRoundStart(round, 2);
        GraftSpark.jobGroup(spark, "graft-test", "test round " + round + "/2");
        sc.parallelize(List.of(1, 2, 3, 4, 5, 6), 6).map(x -> {
          Thread.sleep(150);
          return x;
        }).count();
        GraftSpark.jobGroup(spark, "graft-test", "not a round");
        sc.parallelize(List.of(1, 2), 2).count();
        spark.sparkContext().listenerBus().waitUntilEmpty();
        Thread.sleep(150);
        progress.onRound(new RoundMetrics(round, 2, null, "test", 0, 0, 0, 0, 0, 0, 0), null);
      }
    }
    assertThat(lines).anyMatch(l -> l.matches("round 1/2: \\d tasks done, [0-9.]+ tasks/s, \\d s"));
    assertThat(lines).as("the first round's 6 tasks, not the other job's 2, estimate the second")
        .anyMatch(l -> l.matches("round 2/2: \\d of ~6 tasks \\(\\d+%\\), [0-9.]+ tasks/s, \\d s, (ETA \\d+s|finishing)"));
    int before = lines.size();
    Thread.sleep(300);
    assertThat(lines).as("no lines between rounds or after close").hasSize(before);
  }

  @Test
  void theLineSaysTheShareDoneAndTheTimeLeft() {
    assertThat(RoundProgress.line(2, 6, 48, 120, 35)).isEqualTo("round 2/6: 48 of ~120 tasks (40%), 1.4 tasks/s, 35 s, ETA 53s");
    assertThat(RoundProgress.line(1, 6, 48, 0, 35)).isEqualTo("round 1/6: 48 tasks done, 1.4 tasks/s, 35 s");
    assertThat(RoundProgress.line(3, 6, 130, 120, 90)).isEqualTo("round 3/6: 130 of ~120 tasks (100%), 1.4 tasks/s, 90 s, finishing");
  }

  @Test
  void onATerminalOneStatusLineIsRewrittenInPlaceAndErasedBeforeTheRoundLine() throws Exception {
    SparkSession spark = SparkTests.spark();
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    ConsoleLog console = new ConsoleLog("pretrain", new PrintStream(bytes, true, StandardCharsets.UTF_8), true);
    try (RoundProgress progress = new RoundProgress(spark.sparkContext(), console, 15_000)) {
      progress.onRoundStart(1, 1);
      GraftSpark.jobGroup(spark, "graft-test", "test round 1/1");
      sc.parallelize(List.of(1, 2, 3, 4, 5, 6), 6).map(x -> {
        Thread.sleep(800);
        return x;
      }).count();
      progress.onRound(new RoundMetrics(1, 1, null, "test", 0, 0, 0, 0, 0, 0, 0), null);
      console.accept("round 1/1  train loss 0.1000");
    }
    String screen = bytes.toString(StandardCharsets.UTF_8);
    // every second, not every 15 s: at least two rewrites of the one status line, none ending a line
    assertThat(screen.split("\r\u001b\\[K\\[pretrain\\] round 1/1: ", -1).length - 1).isGreaterThanOrEqualTo(2);
    assertThat(screen).doesNotContain("tasks/s\n", "s\n[pretrain] round 1/1:");
    assertThat(screen).endsWith("\r\u001b[K[pretrain] round 1/1  train loss 0.1000" + System.lineSeparator());
  }

  @Test
  void pipedOutputGetsPlainLinesAndTheSettingOverridesTheGuess() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    ConsoleLog plain = new ConsoleLog("dann", new PrintStream(bytes, true, StandardCharsets.UTF_8), false);
    plain.status("round 1/2: 4 tasks done");
    plain.clearStatus();
    plain.accept("round 1/2  train loss 0.5");
    assertThat(bytes.toString(StandardCharsets.UTF_8)).isEqualTo("[dann] round 1/2: 4 tasks done" + System.lineSeparator()
        + "[dann] round 1/2  train loss 0.5" + System.lineSeparator());
    assertThat(ConsoleLog.inPlaceWanted(null, true, "xterm-256color")).isTrue();
    assertThat(ConsoleLog.inPlaceWanted(null, true, "dumb")).isFalse();
    assertThat(ConsoleLog.inPlaceWanted(null, false, "xterm")).isFalse();
    assertThat(ConsoleLog.inPlaceWanted("plain", true, "xterm")).isFalse();
    assertThat(ConsoleLog.inPlaceWanted("inplace", false, null)).isTrue();
    assertThatThrownBy(() -> ConsoleLog.inPlaceWanted("fancy", true, "xterm"))
        .hasMessage("GRAFT_PROGRESS must be plain or inplace, cannot be: fancy");
  }
}

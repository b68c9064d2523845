package io.graft.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.graft.spark.GraftSpark;
import io.graft.testing.SparkTests;
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
    assertThat(lines).anyMatch(l -> l.matches("round 1/2: \\d tasks done, \\d s"));
    assertThat(lines).as("the first round's 6 tasks, not the other job's 2, estimate the second")
        .anyMatch(l -> l.matches("round 2/2: \\d of ~6 tasks \\(\\d+%\\), \\d s, (ETA \\d+s|finishing)"));
    int before = lines.size();
    Thread.sleep(300);
    assertThat(lines).as("no lines between rounds or after close").hasSize(before);
  }

  @Test
  void theLineSaysTheShareDoneAndTheTimeLeft() {
    assertThat(RoundProgress.line(2, 6, 48, 120, 35)).isEqualTo("round 2/6: 48 of ~120 tasks (40%), 35 s, ETA 53s");
    assertThat(RoundProgress.line(1, 6, 48, 0, 35)).isEqualTo("round 1/6: 48 tasks done, 35 s");
    assertThat(RoundProgress.line(3, 6, 130, 120, 90)).isEqualTo("round 3/6: 130 of ~120 tasks (100%), 90 s, finishing");
  }
}

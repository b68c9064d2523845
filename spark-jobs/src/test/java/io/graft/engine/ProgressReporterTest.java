package io.graft.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ProgressReporterTest {
  @Test
  void aRoundLineSaysWhereBarrierTasksSpentTheRound() {
    List<String> lines = new ArrayList<>();
    ProgressReporter reporter = new ProgressReporter(lines::add);
    Map<String, Double> shares = Map.of("tasks_fitting_share", 0.905, "tasks_waiting_share", 0.084, "tasks_averaging_share", 0.011);
    reporter.onRound(new RoundMetrics(1, 2, null, "test", 0.5, 0.4, 0.9, 4000, 880, 4.5, 1e-3, shares), null);
    reporter.onRound(new RoundMetrics(2, 2, null, "test", 0.3, 0.2, 0.95, 4000, 720, 5.6, 1e-3), null);
    assertThat(lines.get(0)).contains("880 samples/s  tasks 91% fitting, 8% waiting, 1% averaging  4.5 s");
    assertThat(lines.get(1)).as("averaging steps and dl4j-spark report no task split").doesNotContain("tasks").contains("720 samples/s  5.6 s");
  }
}

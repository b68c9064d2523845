package io.graft.cli;

import io.graft.jobs.ConfigArgs;
import io.graft.jobs.SparkOptions;
import io.graft.jobs.multitask.MultitaskConfig;
import io.graft.jobs.multitask.MultitaskJob;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "multitask", mixinStandardHelpOptions = true,
    description = {"Multi-task training: one shared trunk, one head per task, objective sum_i w_i L_i with fixed or learned",
        "(uncertainty) weights and proportional, uniform or temperature task sampling; every task evaluated every round.",
        "Writes model.zip (all heads), tasks/NAME/model.zip (single-task models), metrics.jsonl, provenance.json."})
final class MultitaskCommand implements Callable<Integer> {
  @Mixin
  ConfigArgs<MultitaskConfig> options = new ConfigArgs<>(MultitaskConfig.class);

  @Mixin
  SparkOptions spark;

  @Override
  public Integer call() throws Exception {
    return MultitaskJob.JOB.launch(options, spark);
  }
}

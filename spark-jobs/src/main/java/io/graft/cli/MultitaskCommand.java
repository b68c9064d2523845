package io.graft.cli;

import io.graft.engine.JobOptions;
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
  ConfigOptions options;

  @Mixin
  SparkOptions spark;

  @Override
  public Integer call() throws Exception {
    MultitaskConfig cfg = options.load(MultitaskConfig.class);
    MultitaskJob.validate(cfg, spark.storage("graft multitask"), options.resume);
    MultitaskJob.Result r = MultitaskJob.run(cfg, spark.session("graft multitask"), JobOptions.defaults().withResume(options.resume));
    r.accuracy().forEach((task, acc) -> System.out.printf("%s_accuracy=%.4f%n", task, acc));
    return GraftCli.EXIT_OK;
  }
}

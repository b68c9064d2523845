package io.graft.cli;

import io.graft.config.ConfigLoader;
import io.graft.jobs.multitask.MultitaskConfig;
import io.graft.jobs.multitask.MultitaskJob;
import io.graft.store.Storage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "multitask", mixinStandardHelpOptions = true,
    description = {"Multi-task training: one shared trunk, one head per task, objective sum_i w_i L_i with fixed or learned",
        "(uncertainty) weights and proportional, uniform or temperature task sampling; every task evaluated every round.",
        "Writes model.zip (all heads), tasks/NAME/model.zip (single-task models), metrics.jsonl, provenance.json."})
final class MultitaskCommand implements Callable<Integer> {
  @Option(names = "--config", paramLabel = "FILE", description = "YAML config (see docs/adaptation.md for every key).")
  Path config;

  @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override a config key, e.g. --set weighting=uncertainty; repeatable.")
  List<String> overrides = new ArrayList<>();

  @Option(names = "--resume", description = "Continue from the output's last checkpoint.")
  boolean resume;

  @Mixin
  SparkOptions spark;

  @Override
  public Integer call() throws Exception {
    MultitaskConfig cfg = ConfigLoader.load(config, overrides, MultitaskConfig.class);
    MultitaskJob.validate(cfg, new Storage(new Configuration()), resume);
    MultitaskJob.Result r = MultitaskJob.run(cfg, spark.session("graft multitask"), io.graft.engine.JobOptions.defaults().withResume(resume));
    r.accuracy().forEach((task, acc) -> System.out.printf("%s_accuracy=%.4f%n", task, acc));
    return GraftCli.EXIT_OK;
  }
}

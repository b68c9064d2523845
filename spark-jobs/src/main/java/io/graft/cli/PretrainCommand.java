package io.graft.cli;

import io.graft.config.ConfigLoader;
import io.graft.jobs.pretrain.PretrainConfig;
import io.graft.jobs.pretrain.PretrainJob;
import io.graft.store.Storage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "pretrain", mixinStandardHelpOptions = true,
    description = {"Pre-train a named architecture (mlp, lenet) on a Graft dataset by parameter averaging on Spark.",
        "Writes model.zip, metrics.jsonl and provenance.json to the config's output; checkpoints every round."})
final class PretrainCommand implements Callable<Integer> {
  @Option(names = "--config", paramLabel = "FILE", description = "YAML config (see the README for every key).")
  Path config;

  @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override a config key, e.g. --set training.epochs=5; repeatable, applied after --config.")
  List<String> overrides = new ArrayList<>();

  @Option(names = "--resume", description = "Continue from the output's last checkpoint (after a crash or to add epochs).")
  boolean resume;

  @Mixin
  SparkOptions spark;

  @Override
  public Integer call() throws Exception {
    PretrainConfig cfg = ConfigLoader.load(config, overrides, PretrainConfig.class);
    PretrainJob.validate(cfg, new Storage(new Configuration()), resume);
    PretrainJob.Result result = PretrainJob.run(cfg, spark.session("graft pretrain"), io.graft.engine.JobOptions.defaults().withResume(resume));
    System.out.printf("test_accuracy=%.4f%n", result.testAccuracy());
    return GraftCli.EXIT_OK;
  }
}

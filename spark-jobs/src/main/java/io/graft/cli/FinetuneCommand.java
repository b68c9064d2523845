package io.graft.cli;

import io.graft.config.ConfigLoader;
import io.graft.jobs.finetune.FinetuneConfig;
import io.graft.jobs.finetune.FinetuneJob;
import io.graft.store.Storage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "finetune", mixinStandardHelpOptions = true,
    description = {"Fine-tune a pretrained model on a target dataset: surgery, then stages of frozen / unfrozen training",
        "(scratch, feature-extraction, full, two-stage, gradual-unfreeze, discriminative, adapters) on Spark.",
        "Writes model.zip, metrics.jsonl and provenance.json to the config's output; checkpoints every round."})
final class FinetuneCommand implements Callable<Integer> {
  @Option(names = "--config", paramLabel = "FILE", description = "YAML config (see docs/finetune.md for every key).")
  Path config;

  @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override a config key, e.g. --set strategy=adapters; repeatable.")
  List<String> overrides = new ArrayList<>();

  @Option(names = "--resume", description = "Continue from the output's last checkpoint.")
  boolean resume;

  @Mixin
  SparkOptions spark;

  @Override
  public Integer call() throws Exception {
    FinetuneConfig cfg = ConfigLoader.load(config, overrides, FinetuneConfig.class);
    FinetuneJob.validate(cfg, new Storage(new Configuration()), resume);
    FinetuneJob.Result r = FinetuneJob.run(cfg, spark.session("graft finetune"), io.graft.engine.JobOptions.defaults().withResume(resume));
    System.out.printf("test_accuracy=%.4f%n", r.testAccuracy());
    return GraftCli.EXIT_OK;
  }
}

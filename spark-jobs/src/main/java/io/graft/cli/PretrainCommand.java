package io.graft.cli;

import io.graft.jobs.ConfigArgs;
import io.graft.jobs.SparkOptions;
import io.graft.jobs.pretrain.PretrainConfig;
import io.graft.jobs.pretrain.PretrainJob;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "pretrain", mixinStandardHelpOptions = true,
    description = {"Pre-train a named architecture (mlp, lenet, resnet) on a Graft dataset by parameter averaging on Spark:",
        "supervised, or without labels (objective.kind contrastive | reconstruction) with an optional linear probe.",
        "Writes model.zip, metrics.jsonl and provenance.json to the config's output; checkpoints every round."})
final class PretrainCommand implements Callable<Integer> {
  @Mixin
  ConfigArgs<PretrainConfig> options = new ConfigArgs<>(PretrainConfig.class);

  @Mixin
  SparkOptions spark;

  @Override
  public Integer call() throws Exception {
    return PretrainJob.JOB.launch(options, spark);
  }
}

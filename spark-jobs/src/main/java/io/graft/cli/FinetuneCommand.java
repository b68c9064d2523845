package io.graft.cli;

import io.graft.jobs.ConfigArgs;
import io.graft.jobs.SparkOptions;
import io.graft.jobs.finetune.FinetuneConfig;
import io.graft.jobs.finetune.FinetuneJob;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "finetune", mixinStandardHelpOptions = true,
    description = {"Fine-tune a pretrained model on a target dataset: surgery, then stages of frozen / unfrozen training",
        "(scratch, feature-extraction, full, two-stage, gradual-unfreeze, discriminative, adapters) on Spark.",
        "Writes model.zip, metrics.jsonl and provenance.json to the config's output; checkpoints every round."})
final class FinetuneCommand implements Callable<Integer> {
  @Mixin
  ConfigArgs<FinetuneConfig> options = new ConfigArgs<>(FinetuneConfig.class);

  @Mixin
  SparkOptions spark;

  @Override
  public Integer call() throws Exception {
    return FinetuneJob.JOB.launch(options, spark);
  }
}

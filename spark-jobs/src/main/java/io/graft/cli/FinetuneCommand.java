package io.graft.cli;

import io.graft.engine.JobOptions;
import io.graft.engine.ParameterAveraging;
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
  ConfigOptions options;

  @Mixin
  SparkOptions spark;

  @Override
  public Integer call() throws Exception {
    FinetuneConfig cfg = options.load(FinetuneConfig.class);
    // dl4j-spark's limits and the paths, checked against the configuration the session will start with, before it starts
    ParameterAveraging.requireSupported(cfg.training(), spark.conf("graft finetune"), spark.hadoopConf("graft finetune"));
    FinetuneJob.validate(cfg, spark.storage("graft finetune"), options.resume);
    FinetuneJob.Result r = FinetuneJob.run(cfg, spark.session("graft finetune"), JobOptions.defaults().withResume(options.resume));
    System.out.printf("test_accuracy=%.4f%n", r.testAccuracy());
    return GraftCli.EXIT_OK;
  }
}

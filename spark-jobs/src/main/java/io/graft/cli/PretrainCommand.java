package io.graft.cli;

import io.graft.engine.JobOptions;
import io.graft.engine.ParameterAveraging;
import io.graft.engine.RoundMetrics;
import io.graft.jobs.pretrain.PretrainConfig;
import io.graft.jobs.pretrain.PretrainJob;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "pretrain", mixinStandardHelpOptions = true,
    description = {"Pre-train a named architecture (mlp, lenet) on a Graft dataset by parameter averaging on Spark:",
        "supervised, or without labels (objective.kind contrastive | reconstruction) with an optional linear probe.",
        "Writes model.zip, metrics.jsonl and provenance.json to the config's output; checkpoints every round."})
final class PretrainCommand implements Callable<Integer> {
  @Mixin
  ConfigOptions options;

  @Mixin
  SparkOptions spark;

  @Override
  public Integer call() throws Exception {
    PretrainConfig cfg = options.load(PretrainConfig.class);
    // dl4j-spark's limits and the paths, checked against the configuration the session will start with, before it starts
    ParameterAveraging.requireSupported(cfg.training(), spark.conf("graft pretrain"), spark.hadoopConf("graft pretrain"));
    PretrainJob.validate(cfg, spark.storage("graft pretrain"), options.resume);
    PretrainJob.Result result = PretrainJob.run(cfg, spark.session("graft pretrain"), JobOptions.defaults().withResume(options.resume));
    if (!Double.isNaN(result.testAccuracy())) {
      System.out.printf("test_accuracy=%.4f%n", result.testAccuracy());
    }
    if (cfg.objective().selfSupervised()) {
      System.out.printf("test_loss=%.4f%n", result.testLoss());
    }
    RoundMetrics last = result.history().get(result.history().size() - 1);
    last.extra().forEach((k, v) -> System.out.printf("%s=%.4f%n", k, v));
    if (!Double.isNaN(result.probeAccuracyAtInit())) {
      System.out.printf("probe_accuracy_at_init=%.4f%n", result.probeAccuracyAtInit());
    }
    return GraftCli.EXIT_OK;
  }
}

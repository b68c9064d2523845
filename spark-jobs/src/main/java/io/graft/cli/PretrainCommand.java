package io.graft.cli;

import io.graft.jobs.pretrain.PretrainConfig;
import io.graft.jobs.pretrain.PretrainJob;
import io.graft.store.Storage;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "pretrain", mixinStandardHelpOptions = true,
    description = {"Pre-train a named architecture (mlp, lenet) on a Graft dataset by parameter averaging on Spark.",
        "Writes model.zip, metrics.jsonl and provenance.json to the config's output; checkpoints every round."})
final class PretrainCommand implements Callable<Integer> {
  @Mixin
  ConfigOptions options;

  @Mixin
  SparkOptions spark;

  @Override
  public Integer call() throws Exception {
    PretrainConfig cfg = options.load(PretrainConfig.class);
    PretrainJob.validate(cfg, new Storage(new Configuration()), options.resume);
    PretrainJob.Result result = PretrainJob.run(cfg, spark.session("graft pretrain"), io.graft.engine.JobOptions.defaults().withResume(options.resume));
    System.out.printf("test_accuracy=%.4f%n", result.testAccuracy());
    return GraftCli.EXIT_OK;
  }
}

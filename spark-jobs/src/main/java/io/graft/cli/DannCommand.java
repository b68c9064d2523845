package io.graft.cli;

import io.graft.engine.JobOptions;
import io.graft.jobs.adversarial.DannConfig;
import io.graft.jobs.adversarial.DannJob;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "dann", mixinStandardHelpOptions = true,
    description = {"Domain-adversarial training: a labelled source and an unlabelled target share a trunk; a domain classifier",
        "behind a gradient-reversal layer makes its features domain-invariant. adversarial.lambda=0 is the source-only baseline.",
        "Writes model.zip (target-ready classifier), graph.zip, metrics.jsonl and provenance.json; checkpoints every round."})
final class DannCommand implements Callable<Integer> {
  @Mixin
  ConfigOptions options;

  @Mixin
  SparkOptions spark;

  @Override
  public Integer call() throws Exception {
    DannConfig cfg = options.load(DannConfig.class);
    DannJob.validate(cfg, spark.storage("graft dann"), options.resume);
    DannJob.Result r = DannJob.run(cfg, spark.session("graft dann"), JobOptions.defaults().withResume(options.resume));
    System.out.printf("target_accuracy=%.4f source_accuracy=%.4f domain_accuracy=%.4f%n", r.targetAccuracy(), r.sourceAccuracy(),
        r.domainAccuracy());
    return GraftCli.EXIT_OK;
  }
}

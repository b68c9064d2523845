package io.graft.cli;

import io.graft.jobs.ConfigArgs;
import io.graft.jobs.SparkOptions;
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
  ConfigArgs<DannConfig> options = new ConfigArgs<>(DannConfig.class);

  @Mixin
  SparkOptions spark;

  @Override
  public Integer call() throws Exception {
    return DannJob.JOB.launch(options, spark);
  }
}

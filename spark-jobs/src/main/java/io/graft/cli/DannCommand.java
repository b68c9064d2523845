package io.graft.cli;

import io.graft.config.ConfigLoader;
import io.graft.jobs.adversarial.DannConfig;
import io.graft.jobs.adversarial.DannJob;
import io.graft.store.Storage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "dann", mixinStandardHelpOptions = true,
    description = {"Domain-adversarial training: a labelled source and an unlabelled target share a trunk; a domain classifier",
        "behind a gradient-reversal layer makes its features domain-invariant. adversarial.lambda=0 is the source-only baseline.",
        "Writes model.zip (target-ready classifier), graph.zip, metrics.jsonl and provenance.json; checkpoints every round."})
final class DannCommand implements Callable<Integer> {
  @Option(names = "--config", paramLabel = "FILE", description = "YAML config (see docs/adaptation.md for every key).")
  Path config;

  @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override a config key, e.g. --set adversarial.lambda=0; repeatable.")
  List<String> overrides = new ArrayList<>();

  @Option(names = "--resume", description = "Continue from the output's last checkpoint.")
  boolean resume;

  @Mixin
  SparkOptions spark;

  @Override
  public Integer call() throws Exception {
    DannConfig cfg = ConfigLoader.load(config, overrides, DannConfig.class);
    DannJob.validate(cfg, new Storage(new Configuration()), resume);
    DannJob.Result r = DannJob.run(cfg, spark.session("graft dann"), io.graft.engine.JobOptions.defaults().withResume(resume));
    System.out.printf("target_accuracy=%.4f source_accuracy=%.4f domain_accuracy=%.4f%n", r.targetAccuracy(), r.sourceAccuracy(),
        r.domainAccuracy());
    return GraftCli.EXIT_OK;
  }
}

package io.graft.cli;

import io.graft.jobs.SparkOptions;
import io.graft.jobs.bench.FinetuneBenchmark;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "bench-finetune", mixinStandardHelpOptions = true,
    description = "Run every fine-tuning strategy over several seeds on one label budget and write the results table (Markdown).")
final class BenchFinetuneCommand implements Callable<Integer> {
  @Option(names = "--source", defaultValue = "graft-demo/models/lenet-mnist", description = "Pretrained model (default: ${DEFAULT-VALUE}).")
  String source;

  @Option(names = "--train", required = true, description = "Target training dataset.")
  String train;

  @Option(names = "--test", required = true, description = "Target test dataset.")
  String test;

  @Option(names = "--labels-per-class", defaultValue = "100", description = "Label budget per class (default: ${DEFAULT-VALUE}).")
  int labelsPerClass;

  @Option(names = "--seeds", split = ",", defaultValue = "1,2,3", description = "Seeds (default: ${DEFAULT-VALUE}).")
  List<Long> seeds;

  @Option(names = "--strategies", split = ",",
      defaultValue = "scratch,feature-extraction,full,two-stage,gradual-unfreeze,discriminative,adapters",
      description = "Strategies (default: all).")
  List<String> strategies;

  @Option(names = "--epochs", defaultValue = "12", description = "Rounds per run (default: ${DEFAULT-VALUE}).")
  int epochs;

  @Option(names = "--work", defaultValue = "target/bench-finetune", description = "Folder for the runs (default: ${DEFAULT-VALUE}).")
  Path work;

  @Option(names = "--report", required = true, description = "Markdown file to write.")
  Path report;

  @Option(names = "--html", description = "Also write the HTML report (runs, strategy comparison, verdicts vs scratch) here.")
  Path html;

  @Option(names = "--no-cache-timing", description = "Skip the feature-cache timing runs.")
  boolean noCacheTiming;

  @Option(names = "--set", paramLabel = "KEY=VALUE", description = "A finetune config key for every run (e.g. optimizer.learningRate=0.01); repeatable.")
  List<String> sets = new ArrayList<>();

  @Mixin
  SparkOptions spark;

  @Override
  public Integer call() throws Exception {
    String command = "deploy/bin/graft bench-finetune --source " + source + " --train " + train + " --test " + test
        + " --labels-per-class " + labelsPerClass + " --seeds " + String.join(",", seeds.stream().map(String::valueOf).toList())
        + " --epochs " + epochs + " --report " + report + (html == null ? "" : " --html " + html) + (noCacheTiming ? " --no-cache-timing" : "")
        + sets.stream().map(x -> " --set " + x).reduce("", String::concat);
    FinetuneBenchmark.run(new FinetuneBenchmark.Spec(source, train, test, labelsPerClass, seeds, strategies, epochs, work, report, command,
        !noCacheTiming, html, sets),
        spark.session("graft bench-finetune"), System.out::println);
    return GraftCli.EXIT_OK;
  }
}

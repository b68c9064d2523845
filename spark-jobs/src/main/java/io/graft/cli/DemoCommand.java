package io.graft.cli;

import io.graft.jobs.SparkOptions;
import io.graft.jobs.demo.DemoJob;
import io.graft.pipeline.PipelineLock;
import io.graft.pipeline.runner.PipelineRunner;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "demo", mixinStandardHelpOptions = true,
    description = {"The demo pipeline (deploy/pipelines/demo.yaml) on the embedded default: fetch, import, pre-train LeNet on MNIST,",
        "fine-tune it on Fashion-MNIST vs scratch (2 seeds), verdict, DANN MNIST -> UCI digits, report. Reruns skip finished stages.",
        "Datasets are published under OUT/data/, the pre-trained model under OUT/models/lenet-mnist, the report under OUT/report/."})
final class DemoCommand implements Callable<Integer> {
  @Option(names = "--out", paramLabel = "DIR", defaultValue = "graft-demo", description = "Pipeline root (default: ${DEFAULT-VALUE}).")
  String out;

  @Option(names = "--epochs", description = "Pre-training epochs (default: the pipeline's 3).")
  Integer epochs;

  @Option(names = "--max-rows", description = "Pre-train on at most this many rows (default: all 60,000).")
  Long maxRows;

  @Option(names = "--set", paramLabel = "STAGE.KEY=VALUE", description = "Override a stage setting, as in 'pipeline run'; repeatable.")
  List<String> overrides = new ArrayList<>();

  @Mixin
  SparkOptions spark;

  @Override
  public Integer call() throws Exception {
    List<String> all = new ArrayList<>();
    if (epochs != null) {
      all.add("pretrain.training.epochs=" + epochs);
    }
    if (maxRows != null) {
      all.add("pretrain.training.maxRows=" + maxRows);
    }
    all.addAll(overrides);
    PipelineRunner.Options options = PipelineRunner.Options.defaults(() -> spark.session("graft demo"),
        line -> System.out.println("[demo] " + line));
    DemoJob.Result r;
    try {
      r = DemoJob.run(new DemoJob.DemoConfig(out, all), spark.storage("graft demo"), options);
    } catch (PipelineLock.HeldException e) {
      System.err.println("graft: lock held: " + e.getMessage());
      return GraftCli.EXIT_LOCK_HELD;
    }
    PipelineCommand.printRun(r.pipeline().summary(), System.out);
    r.verdicts().forEach(v -> System.out.println("[demo] transfer verdict: " + v));
    // the demo shows a negative verdict on purpose: as a pipeline it would stop a schedule (status 3), as a demo it succeeded
    boolean shown = r.pipeline().exitCode() == GraftCli.EXIT_NEGATIVE_TRANSFER;
    System.out.printf("test_accuracy=%.4f reloaded_accuracy=%.4f status=%s summary=%s%n", r.testAccuracy(), r.reloadedAccuracy(),
        shown ? "ok (one negative verdict, as intended)" : r.pipeline().status(), r.pipeline().summaryPath());
    return shown ? GraftCli.EXIT_OK : r.pipeline().exitCode();
  }
}

package io.graft.cli;

import io.graft.jobs.SparkOptions;
import io.graft.jobs.bench.OverheadBenchmark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.nd4j.linalg.factory.Nd4j;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "bench-overhead", mixinStandardHelpOptions = true,
    description = {"Samples/s of pre-training (LeNet or the ResNet trunk) in one run on the same rows, batch size and cores: single-JVM",
        "DL4J fit, graft pretrain on dl4j-spark and on Graft's averaging, and PyTorch (1 and N threads, DDP over N processes) where",
        "a Python imports torch. Writes a Markdown table (docs/benchmarks/performance.md); the last line is key=value figures."})
final class BenchOverheadCommand implements Callable<Integer> {
  @Option(names = "--train", required = true, description = "Training dataset (Graft Parquet), e.g. graft-demo/data/mnist/train.")
  String train;

  @Option(names = "--rows", defaultValue = "20000", description = "Rows to train on (default: ${DEFAULT-VALUE}).")
  long rows;

  @Option(names = "--batch", defaultValue = "64", description = "Minibatch size, per worker on Spark (default: ${DEFAULT-VALUE}).")
  int batch;

  @Option(names = "--averaging-frequency", defaultValue = "10", description = "Minibatches between averagings (default: ${DEFAULT-VALUE}).")
  int averagingFrequency;

  @Option(names = "--epochs", defaultValue = "2", description = "Epochs per variant; the last is timed (default: ${DEFAULT-VALUE}).")
  int epochs;

  @Option(names = "--model", defaultValue = "lenet", description = "lenet or resnet (default: ${DEFAULT-VALUE}).")
  String model;

  @Option(names = "--python", defaultValue = "auto", description = "Python for the PyTorch peer: auto (Debian's python3 or the PATH's, "
      + "skipped where neither imports torch), off, or a path (default: ${DEFAULT-VALUE}).")
  String python;

  @Option(names = "--work", defaultValue = "target/bench-overhead", description = "Folder for the runs (default: ${DEFAULT-VALUE}).")
  Path work;

  @Option(names = "--report", required = true, description = "Markdown file to write.")
  Path report;

  @Mixin
  SparkOptions spark;

  @Override
  public Integer call() throws Exception {
    Files.createDirectories(work);
    OverheadBenchmark.Result r = OverheadBenchmark.run(new OverheadBenchmark.Spec(train, rows, batch, averagingFrequency, epochs, model,
        python, work.toAbsolutePath(), report), spark.session("graft bench-overhead"), System.out::println);
    System.out.println(r.keyValues(model) + " backend=" + Nd4j.getBackend().getClass().getSimpleName());
    return GraftCli.EXIT_OK;
  }
}

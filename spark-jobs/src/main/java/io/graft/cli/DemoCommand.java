package io.graft.cli;

import io.graft.jobs.demo.DemoJob;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "demo", mixinStandardHelpOptions = true,
    description = {"Fetch MNIST, import it to Parquet, pre-train the LeNet-style CNN on Spark and print its test accuracy.",
        "Datasets go under OUT/data/, models under OUT/models/."})
final class DemoCommand implements Callable<Integer> {
  @Option(names = "--out", paramLabel = "DIR", defaultValue = "graft-demo", description = "Output folder (default: ${DEFAULT-VALUE}).")
  Path out;

  @Option(names = "--epochs", defaultValue = "3", description = "Pre-training epochs (default: ${DEFAULT-VALUE}).")
  int epochs;

  @Option(names = "--max-rows", defaultValue = "0", description = "Train on at most this many rows (default: all 60,000).")
  long maxRows;

  @Mixin
  SparkOptions spark;

  @Override
  public Integer call() throws Exception {
    DemoJob.Result r = DemoJob.run(new DemoJob.DemoConfig(out, epochs, maxRows), spark.session("graft demo"), System.out::println);
    System.out.printf("test_accuracy=%.4f%n", r.testAccuracy());
    return GraftCli.EXIT_OK;
  }
}

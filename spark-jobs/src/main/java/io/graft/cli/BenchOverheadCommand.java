package io.graft.cli;

import io.graft.jobs.SparkOptions;
import io.graft.jobs.bench.OverheadBenchmark;
import io.graft.platform.Host;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.nd4j.linalg.factory.Nd4j;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "bench-overhead", mixinStandardHelpOptions = true,
    description = {"Samples/s of LeNet pre-training three ways in one run on the same rows, batch size and cores: single-JVM DL4J fit,",
        "graft pretrain on dl4j-spark, graft pretrain on Graft's averaging. Writes a Markdown table (docs/benchmarks/performance.md)."})
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

  @Option(names = "--work", defaultValue = "target/bench-overhead", description = "Folder for the runs (default: ${DEFAULT-VALUE}).")
  Path work;

  @Option(names = "--report", required = true, description = "Markdown file to write.")
  Path report;

  @Mixin
  SparkOptions spark;

  @Override
  public Integer call() throws Exception {
    Files.createDirectories(work);
    OverheadBenchmark.Result r = OverheadBenchmark.run(new OverheadBenchmark.Spec(train, rows, batch, averagingFrequency, epochs,
        work.toAbsolutePath(), report), spark.session("graft bench-overhead"), System.out::println);
    System.out.printf("single_jvm=%.0f dl4j_spark=%.0f graft=%.0f ratio_dl4j_spark=%.2f ratio_graft=%.2f dl4j_spark_engine=%s "
        + "graft_engine=%s backend=%s host=\"%s\"%n", r.singleJvm(), r.dl4jSpark(), r.graft(), r.dl4jSpark() / r.singleJvm(),
        r.graft() / r.singleJvm(), r.dl4jSparkRun().engine(), r.graftRun().engine(), Nd4j.getBackend().getClass().getSimpleName(),
        Host.describe());
    return GraftCli.EXIT_OK;
  }
}

package io.graft.cli;

import io.graft.jobs.SparkOptions;
import io.graft.jobs.bench.CeilingBenchmark;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "bench-ceiling", mixinStandardHelpOptions = true,
    description = {"Achieved GFLOP/s of the LeNet training step (DL4J's built-in layers and oneDNN) and of its dense head on cached",
        "features, against the machine's sgemm peak measured in the same run. Writes a Markdown table (docs/benchmarks/performance.md)."})
final class BenchCeilingCommand implements Callable<Integer> {
  @Option(names = "--train", required = true, description = "Image dataset (Graft Parquet), e.g. graft-demo/data/mnist/train.")
  String train;

  @Option(names = "--rows", defaultValue = "8192", description = "Rows loaded and cycled through (default: ${DEFAULT-VALUE}).")
  int rows;

  @Option(names = "--batch", split = ",", defaultValue = "32,64,128,256", description = "LeNet minibatch sizes (default: ${DEFAULT-VALUE}).")
  List<Integer> batches;

  @Option(names = "--head-batch", split = ",", defaultValue = "64,256,1024",
      description = "Dense-head minibatch sizes (default: ${DEFAULT-VALUE}).")
  List<Integer> headBatches;

  @Option(names = "--seconds", defaultValue = "8", description = "Length of each of the 3 timed windows (default: ${DEFAULT-VALUE}).")
  double seconds;

  @Option(names = "--gemm", defaultValue = "4096", description = "Side of the square matrices of the sgemm peak (default: ${DEFAULT-VALUE}).")
  int gemm;

  @Option(names = "--report", required = true, description = "Markdown file to write.")
  Path report;

  @Mixin
  SparkOptions spark;

  @Override
  public Integer call() throws Exception {
    require(rows >= 1, "--rows must be at least 1, cannot be: " + rows);
    require(seconds > 0, "--seconds must be positive, cannot be: " + seconds);
    require(gemm >= 64, "--gemm must be at least 64, cannot be: " + gemm);
    for (int b : batches) {
      require(b >= 1 && b <= rows, "--batch sizes must be between 1 and --rows (" + rows + "), cannot be: " + b);
    }
    for (int b : headBatches) {
      require(b >= 1 && b <= rows, "--head-batch sizes must be between 1 and --rows (" + rows + "), cannot be: " + b);
    }
    CeilingBenchmark.Result r = CeilingBenchmark.run(new CeilingBenchmark.Spec(train, rows, batches, headBatches, seconds, gemm, report),
        spark.session("graft bench-ceiling"), System.out::println);
    System.out.printf("peak_gflops=%.1f best_lenet_share=%.3f best_head_share=%.3f%n", r.peakGflops(),
        r.rows().stream().filter(x -> x.network().equals("LeNet")).mapToDouble(CeilingBenchmark.Row::shareOfPeak).max().orElse(0),
        r.rows().stream().filter(x -> x.layers().equals("dense")).mapToDouble(CeilingBenchmark.Row::shareOfPeak).max().orElse(0));
    return GraftCli.EXIT_OK;
  }

  private void require(boolean ok, String message) {
    if (!ok) {
      throw new CommandLine.ParameterException(new CommandLine(this), "bench-ceiling: " + message);
    }
  }
}

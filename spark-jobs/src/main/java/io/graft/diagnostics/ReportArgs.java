package io.graft.diagnostics;

import io.graft.config.Input;
import io.graft.jobs.JobArgs;
import java.util.List;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The options of {@code graft report} (a pipeline stage's {@code args}; the runs are its {@code positional}). */
public final class ReportArgs implements JobArgs<ReportJob.Request> {
  @Parameters(paramLabel = "RUN", arity = "1..*",
      description = "Run folders (provenance.json, metrics.jsonl) or JSON files from divergence, probe, verdict, evaluate.")
  @Input List<String> runs;
  @Option(names = "--out", required = true, paramLabel = "FILE", description = "The HTML file to write.")
  String out;
  @Option(names = "--title", defaultValue = "Graft transfer report")
  String title;

  @Override
  public ReportJob.Request config() {
    return new ReportJob.Request(runs, out, title);
  }
}

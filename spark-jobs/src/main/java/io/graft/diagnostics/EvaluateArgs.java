package io.graft.diagnostics;

import io.graft.config.ConfigException;
import io.graft.config.Input;
import io.graft.data.BadRecordPolicy;
import io.graft.jobs.JobArgs;
import java.util.Locale;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The options of {@code graft evaluate} (a pipeline stage's {@code args}; MODEL is its {@code positional}). */
public final class EvaluateArgs implements JobArgs<EvaluateJob.Request> {
  @Parameters(paramLabel = "MODEL", description = "Model folder or zip.")
  @Input String model;
  @Option(names = "--data", required = true, paramLabel = "URI")
  @Input String data;
  @Option(names = "--out", paramLabel = "FILE", description = "Write the figures as JSON.")
  String out;
  @Option(names = "--on-bad-record", defaultValue = "fail", description = "fail | skip (default: ${DEFAULT-VALUE}).")
  String onBadRecord;

  @Override
  public EvaluateJob.Request config() {
    BadRecordPolicy policy;
    try {
      policy = BadRecordPolicy.valueOf(onBadRecord.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new ConfigException("--on-bad-record must be fail or skip, cannot be: " + onBadRecord);
    }
    return new EvaluateJob.Request(model, data, out, policy);
  }
}

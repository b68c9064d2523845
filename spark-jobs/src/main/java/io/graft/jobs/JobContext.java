package io.graft.jobs;

import io.graft.engine.JobOptions;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.apache.spark.sql.SparkSession;

/**
 * What a running job is given.
 *
 * @param env where it runs (the storage its paths resolve on)
 * @param session the Spark session, started on first use
 * @param resume continue from the output's last checkpoint
 * @param log where progress lines go
 */
public record JobContext(JobEnv env, Supplier<SparkSession> session, boolean resume, Consumer<String> log) {
  public SparkSession spark() {
    return session.get();
  }

  /** How a training job is driven in this context. */
  public JobOptions options() {
    return new JobOptions(resume, List.of(), log);
  }
}

package io.graft.jobs;

/**
 * A job's command options (a picocli options object) and the config they make: what
 * {@code graft COMMAND}, a pipeline stage's {@code args} and the job's {@code main} all parse.
 *
 * @param <C> the job's config type
 */
public interface JobArgs<C> {
  /**
   * The config these options describe.
   *
   * @throws io.graft.config.ConfigException naming the option that cannot be used
   */
  C config();

  /** Whether to continue from the output's last checkpoint. */
  default boolean resume() {
    return false;
  }
}

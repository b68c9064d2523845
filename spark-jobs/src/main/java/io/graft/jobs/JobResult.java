package io.graft.jobs;

import java.util.List;

/** What a finished job hands back, beside what it wrote. */
public interface JobResult {
  /** The lines a person reads when the job finishes ({@code key=value} figures, tables). */
  List<String> lines();

  /** The exit status the job's command ends with ({@link ExitStatus#OK} unless the job says otherwise). */
  default int exitStatus() {
    return ExitStatus.OK;
  }
}

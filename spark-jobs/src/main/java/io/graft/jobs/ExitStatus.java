package io.graft.jobs;

/** The exit statuses of every Graft command and job main. */
public final class ExitStatus {
  public static final int OK = 0;
  /** A failure other than bad input (the stack trace is printed). */
  public static final int FAILED = 1;
  /** Bad input (unknown key, missing path, wrong schema): one line names it, nothing ran. */
  public static final int BAD_INPUT = 2;
  /** {@code --fail-on-negative-transfer} and the verdict was negative. */
  public static final int NEGATIVE_TRANSFER = 3;
  /** {@code pipeline run}: another live run holds the pipeline root's lock; retry later. */
  public static final int LOCK_HELD = 4;

  private ExitStatus() {}
}

package io.graft.engine;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * A job's console: each line prefixed with the job's name ({@code [pretrain] round 2/6 ...}), and,
 * on a terminal, one status line that progress within a round rewrites in place ({@code \r}, then
 * erase to the end of the line) instead of printing a new line each time, as Spark's own console
 * progress bar does. Any other line first erases the status line, so the two never share a row.
 * Piped or redirected output (CI logs, {@code nohup}, {@code spark-submit} on a cluster) gets plain,
 * throttled lines only. {@code GRAFT_PROGRESS=plain} or {@code inplace} overrides the guess.
 */
public final class ConsoleLog implements Consumer<String> {
  private static final String ERASE_LINE = "\r\u001b[K";

  private final String prefix;
  private final PrintStream out;
  private final boolean inPlace;
  private boolean statusShown;

  public ConsoleLog(String job, PrintStream out, boolean inPlace) {
    this.prefix = "[" + job + "] ";
    this.out = out;
    this.inPlace = inPlace;
  }

  /** Standard output, in place when it is a terminal (or {@code GRAFT_PROGRESS} says so). */
  public static ConsoleLog stdout(String job) {
    return new ConsoleLog(job, System.out, inPlaceWanted(System.getenv("GRAFT_PROGRESS"), System.console() != null, System.getenv("TERM")));
  }

  static boolean inPlaceWanted(String setting, boolean terminal, String term) {
    if (setting != null && !setting.isBlank()) {
      return switch (setting.trim().toLowerCase(Locale.ROOT)) {
        case "inplace", "in-place" -> true;
        case "plain" -> false;
        default -> throw new IllegalArgumentException("GRAFT_PROGRESS must be plain or inplace, cannot be: " + setting);
      };
    }
    return terminal && !"dumb".equals(term);
  }

  public boolean inPlace() {
    return inPlace;
  }

  @Override
  public synchronized void accept(String line) {
    out.print((statusShown ? ERASE_LINE : "") + prefix + line + System.lineSeparator());
    out.flush();
    statusShown = false;
  }

  /** Shows {@code line} as the status line, replacing the previous one (a plain line when not in place). */
  public synchronized void status(String line) {
    if (!inPlace) {
      accept(line);
      return;
    }
    out.print(ERASE_LINE + prefix + line);
    out.flush();
    statusShown = true;
  }

  /** Erases the status line, if one is shown. */
  public synchronized void clearStatus() {
    if (statusShown) {
      out.print(ERASE_LINE);
      out.flush();
      statusShown = false;
    }
  }
}

package io.graft.config;

/**
 * A configuration or input that Graft refuses before any work starts. The message is one line
 * that names the offending key, file or value, so a scheduler's log says what to fix.
 */
public class ConfigException extends RuntimeException {
  public ConfigException(String message) {
    super(message);
  }

  public ConfigException(String message, Throwable cause) {
    super(message, cause);
  }

  /** Throws a {@link ConfigException} with {@code message} unless {@code condition} holds. */
  public static void require(boolean condition, String message, Object... args) {
    if (!condition) {
      throw new ConfigException(String.format(message, args));
    }
  }
}

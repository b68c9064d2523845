package io.graft.data;

import io.graft.config.ConfigException;

/** Raw or imported data that cannot be used: the message names the file and, where known, the row. */
public class DataException extends ConfigException {
  public DataException(String message) {
    super(message);
  }

  public DataException(String message, Throwable cause) {
    super(message, cause);
  }
}

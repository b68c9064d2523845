package io.graft.pipeline;

import io.graft.config.ConfigException;

/** A pipeline file Graft refuses before any stage runs; the message names the stage and the key. */
public class PipelineException extends ConfigException {
  public PipelineException(String message) {
    super(message);
  }

  public PipelineException(String message, Throwable cause) {
    super(message, cause);
  }
}

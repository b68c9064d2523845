package io.graft.config;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Keys a config type shares with others (through a nested record such as {@code training}) but
 * whose job does not use: {@link ConfigLoader} refuses them by name instead of ignoring them.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
public @interface UnusedKeys {
  /** Dotted paths, e.g. {@code training.engine}. */
  String[] value();

  /** Why the job does not use them (the refusal's second half). */
  String reason();
}

package io.graft.config;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a config key or command option whose value names data or a model that must already exist
 * (a dataset, a model folder, a raw file). A pipeline checks every such value before any stage
 * runs; with {@code watch} it also fingerprints the files into the stage's key, so new raw data
 * reruns the stage.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.RECORD_COMPONENT, ElementType.FIELD})
public @interface Input {
  /** Whether the files' size and modification time are part of the stage's key (raw inputs outside any pipeline). */
  boolean watch() default false;
}

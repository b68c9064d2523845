/**
 * Job configuration: {@link io.graft.config.ConfigLoader} binds a YAML file and its
 * {@code --set key.path=value} overrides to a job's immutable config record, refusing unknown keys
 * by name; {@link io.graft.config.TrainingConfig} and {@link io.graft.config.OptimizerConfig} are
 * the records every training job embeds. {@link io.graft.config.ConfigException} is the one-line
 * error for configuration or input that Graft refuses before any work starts (the command line
 * exits with status 2 on it). Spark-free.
 */
package io.graft.config;

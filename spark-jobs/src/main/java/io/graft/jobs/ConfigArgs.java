package io.graft.jobs;

import io.graft.config.ConfigLoader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * The options of every job configured by YAML: the config file, {@code --set} overrides and
 * {@code --resume}. As {@link JobArgs} it loads the config type it was made for.
 */
public final class ConfigArgs<C> implements JobArgs<C> {
  @Option(names = "--config", paramLabel = "FILE", description = "YAML config (every key: README, docs/finetune.md, docs/adaptation.md).")
  Path config;

  @Option(names = "--set", paramLabel = "KEY=VALUE",
      description = "Override a config key, e.g. --set training.epochs=5; repeatable, applied after --config.")
  List<String> overrides = new ArrayList<>();

  @Option(names = "--resume", description = "Continue from the output's last checkpoint (after a crash, or to add epochs).")
  boolean resume;

  private final Class<C> type;

  public ConfigArgs(Class<C> type) {
    this.type = type;
  }

  @Override
  public C config() {
    return ConfigLoader.load(config, overrides, type);
  }

  @Override
  public boolean resume() {
    return resume;
  }
}

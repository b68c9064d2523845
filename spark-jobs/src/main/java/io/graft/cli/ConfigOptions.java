package io.graft.cli;

import io.graft.config.ConfigLoader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** The options every training command shares: its YAML config, {@code --set} overrides and {@code --resume}. */
final class ConfigOptions {
  @Option(names = "--config", paramLabel = "FILE", description = "YAML config (every key: README, docs/finetune.md, docs/adaptation.md).")
  Path config;

  @Option(names = "--set", paramLabel = "KEY=VALUE",
      description = "Override a config key, e.g. --set training.epochs=5; repeatable, applied after --config.")
  List<String> overrides = new ArrayList<>();

  @Option(names = "--resume", description = "Continue from the output's last checkpoint (after a crash, or to add epochs).")
  boolean resume;

  <T> T load(Class<T> type) {
    return ConfigLoader.load(config, overrides, type);
  }
}

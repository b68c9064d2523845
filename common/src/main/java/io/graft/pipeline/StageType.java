package io.graft.pipeline;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The stage types a pipeline may use, and how the pipeline hands each its output location.
 * Config stages take a YAML config (the job's own keys) whose {@code output} the pipeline sets;
 * argument stages take the command's options, one of which the pipeline sets.
 */
public enum StageType {
  FETCH_DATA("fetch-data", false, "dest", null, false, false),
  IMPORT("import", false, "output", null, true, false),
  IMPORT_MODEL("import-model", false, "output", null, false, false),
  PRETRAIN("pretrain", true, "output", null, true, true),
  FINETUNE("finetune", true, "output", null, true, true),
  MULTITASK("multitask", true, "output", null, true, true),
  DANN("dann", true, "output", null, true, true),
  DIVERGENCE("divergence", false, "out", "result.json", true, false),
  PROBE("probe", false, "out", "result.json", true, false),
  EVALUATE("evaluate", false, "out", "result.json", true, false),
  VERDICT("verdict", false, "out", "result.json", false, false),
  PREDICT("predict", false, "out", "predictions", true, false),
  REPORT("report", false, "out", "report.html", false, false);

  private final String command;
  private final boolean configured;
  private final String outputKey;
  private final String outputChild;
  private final boolean needsSpark;
  private final boolean resumable;

  StageType(String command, boolean configured, String outputKey, String outputChild, boolean needsSpark, boolean resumable) {
    this.command = command;
    this.configured = configured;
    this.outputKey = outputKey;
    this.outputChild = outputChild;
    this.needsSpark = needsSpark;
    this.resumable = resumable;
  }

  /** The {@code graft} command that runs this stage. */
  public String command() {
    return command;
  }

  /** Whether the stage takes a YAML {@code config} (true) or command {@code args} (false). */
  public boolean configured() {
    return configured;
  }

  /** The config key or option the pipeline sets to the stage's output. */
  public String outputKey() {
    return outputKey;
  }

  /** The file or folder inside the stage folder the command writes (null: the folder itself). */
  public String outputChild() {
    return outputChild;
  }

  public boolean needsSpark() {
    return needsSpark;
  }

  /** Whether the job checkpoints every round and continues with {@code --resume}. */
  public boolean resumable() {
    return resumable;
  }

  public static StageType of(String name, String stage) {
    for (StageType t : values()) {
      if (t.command.equals(name == null ? null : name.toLowerCase(Locale.ROOT))) {
        return t;
      }
    }
    throw new PipelineException("stage '" + stage + "': unknown type '" + name + "' (types: " + names() + ")");
  }

  public static String names() {
    return Arrays.stream(values()).map(StageType::command).collect(Collectors.joining(", "));
  }
}

package io.graft.diagnostics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.graft.config.ConfigException;
import io.graft.store.Provenance;
import io.graft.store.Storage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;

/** What {@code graft report} found in its inputs: training runs (provenance and rounds) and diagnostics records. */
record ReportInputs(List<ReportInputs.Run> runs, List<JsonNode> divergences, List<JsonNode> probes, List<JsonNode> verdicts,
    List<JsonNode> evaluations) {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** A training run: its name, provenance and per-round metrics. */
  record Run(String name, String path, JsonNode provenance, List<JsonNode> rounds) {
    String job() {
      return provenance.path("job").asText("?");
    }

    /**
     * The group a run is compared in: its variant on its dataset ({@link #variant()}, {@link #panel()})
     * and, for fine-tuning, the label budget. Runs on different targets or budgets never share a group.
     */
    String group() {
      return job() + ": " + variant() + (dataset() == null ? "" : " on " + dataset()) + budgetText();
    }

    /** The run's name inside its panel, where the job and dataset are the title ("scratch, 10 labels per class"). */
    String inPanel() {
      return variant() + budgetText();
    }

    /** {@link #inPanel()} and the seed. */
    String inPanelWithSeed() {
      return inPanel() + seedText();
    }

    private String budgetText() {
      return budget() > 0 ? ", " + budget() + " labels per class" : "";
    }

    private String seedText() {
      JsonNode seed = provenance.path("seed");
      return seed.isNumber() ? ", seed " + seed.asText() : "";
    }

    /** What the run varies within its panel: the strategy (fine-tuning), lambda (DANN), the task count (multi-task). */
    String variant() {
      JsonNode c = provenance.path("config");
      return switch (job()) {
        case "finetune" -> c.path("stages").size() > 0 ? "custom stages" : c.path("strategy").asText().toLowerCase().replace('_', '-');
        case "dann" -> c.path("adversarial").path("lambda").asDouble() == 0 ? "source-only (lambda 0)"
            : "lambda " + c.path("adversarial").path("lambda").asText();
        case "multitask" -> c.path("tasks").size() + " task(s)";
        default -> c.path("model").path("architecture").asText(job()).toLowerCase();
      };
    }

    /** The dataset a run is scored on: the fine-tuning or pre-training data, DANN's target; null for multi-task. */
    String dataset() {
      JsonNode c = provenance.path("config");
      JsonNode uri = "dann".equals(job()) ? c.path("target").path("train") : c.path("data").path("train");
      return uri.isTextual() ? datasetName(uri.asText()) : null;
    }

    /** Labelled rows per class a fine-tuning run drew (0: all of them). */
    int budget() {
      return provenance.path("config").path("data").path("labelsPerClass").asInt(0);
    }

    /** Where the report draws a run: one panel per job and dataset, so one axis never mixes two tasks. */
    String panel() {
      return dataset() == null ? job() : job() + " on " + dataset();
    }

    /**
     * A dataset's short name from its URI: the last folder, with its parent when the last is only
     * {@code train}, {@code test} or {@code data} ({@code fashion/train}), and a pipeline's
     * 12-character stage key left out ({@code ROOT/digits/fa483df9ea9c} is {@code digits}).
     */
    static String datasetName(String uri) {
      List<String> parts = new ArrayList<>(List.of(uri.replaceAll("/+$", "").split("/")));
      if (parts.size() > 1 && parts.get(parts.size() - 1).matches("[0-9a-f]{12}")) {
        parts.remove(parts.size() - 1);
      }
      String last = parts.get(parts.size() - 1);
      return parts.size() > 1 && Set.of("train", "test", "data").contains(last) ? parts.get(parts.size() - 2) + "/" + last : last;
    }

    /** How the report names the run: its group and seed ("finetune: scratch on digits, seed 2"), not its folder. */
    String label() {
      return group() + seedText();
    }

    String metric() {
      return VerdictJob.headlineMetric(provenance);
    }

    Double headline() {
      JsonNode v = provenance.path("metrics").path(metric());
      return v.isNumber() ? v.asDouble() : null;
    }
  }

  static ReportInputs read(List<String> inputs, Storage storage) throws IOException {
    ReportInputs in = new ReportInputs(new ArrayList<>(), new ArrayList<>(), new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
    for (String input : inputs) {
      Path p = storage.path(input);
      storage.requireExists(p, "Report input");
      if (storage.status(p).isDirectory()) {
        Path prov = new Path(p, Provenance.FILE_NAME);
        boolean any = false;
        if (storage.exists(prov)) {
          in.runs().add(new Run(p.getName(), input, Provenance.read(storage, p), rounds(storage, new Path(p, "metrics.jsonl"))));
          any = true;
        }
        for (FileStatus f : storage.fs(p).listStatus(p)) {
          String name = f.getPath().getName();
          if (f.isFile() && name.endsWith(".json") && !name.equals(Provenance.FILE_NAME) && !name.startsWith("_")) {
            any |= addDiagnostic(in, JSON.readTree(storage.readString(f.getPath())), null);
          }
        }
        ConfigException.require(any, "Report input %s has no provenance.json and no diagnostics JSON", input);
      } else {
        JsonNode node;
        try {
          node = JSON.readTree(storage.readString(p));
        } catch (IOException e) {
          throw new ConfigException("Report input " + input + " is not JSON: " + e.getMessage().lines().findFirst().orElse(""));
        }
        ConfigException.require(addDiagnostic(in, node, input), "Report input %s is not a Graft diagnostics file (no known 'kind')", input);
      }
    }
    return in;
  }

  private static boolean addDiagnostic(ReportInputs in, JsonNode node, String path) {
    switch (node.path("kind").asText("")) {
      case "divergence" -> in.divergences().add(node);
      case "probe" -> in.probes().add(node);
      case "verdict" -> in.verdicts().add(node);
      case "evaluation" -> in.evaluations().add(node);
      default -> {
        return false;
      }
    }
    return true;
  }

  private static List<JsonNode> rounds(Storage storage, Path file) throws IOException {
    List<JsonNode> out = new ArrayList<>();
    if (storage.exists(file)) {
      for (String line : storage.readString(file).split("\n")) {
        if (!line.isBlank()) {
          out.add(JSON.readTree(line));
        }
      }
    }
    return out;
  }

  /** The per-round accuracy key of a metrics line. */
  static String accuracyKey(JsonNode round) {
    String evalSet = round.path("eval_set").asText("");
    for (String k : List.of(evalSet + "_accuracy", "target_accuracy", "mean_accuracy", "val_accuracy", "test_accuracy")) {
      if (round.path(k).isNumber()) {
        return k;
      }
    }
    return null;
  }
}

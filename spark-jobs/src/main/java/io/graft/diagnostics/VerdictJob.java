package io.graft.diagnostics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.graft.config.ConfigException;
import io.graft.diagnostics.Verdict.Outcome;
import io.graft.store.Provenance;
import io.graft.store.Storage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.fs.Path;

/**
 * {@code graft verdict}: did transfer help? Reads the final metric from each run folder's
 * {@code provenance.json} (treatment runs: one per seed; baseline runs: scratch or source-only,
 * one per seed), compares them with {@link Verdict}, and optionally records the verdict in every
 * treatment run's provenance (rewritten atomically) and in a JSON file for the report.
 */
public final class VerdictJob {
  private VerdictJob() {}

  public static void main(String[] args) {
    System.exit(io.graft.cli.GraftCli.runCommand("verdict", args));
  }

  /**
   * @param metric the provenance metric to compare (null: the job's headline metric:
   *     test_accuracy for pre-training and fine-tuning, target_accuracy for dann,
   *     mean_accuracy for multitask)
   * @param record write the verdict into each treatment run's provenance.json
   */
  public record Request(List<String> treatment, List<String> baseline, String metric, double alpha, double minEffect, String label,
      boolean record, String out) {
    public Request {
      treatment = treatment == null ? List.of() : List.copyOf(treatment);
      baseline = baseline == null ? List.of() : List.copyOf(baseline);
    }
  }

  /** Written to JSON. */
  public record Output(String kind, String label, List<String> treatment, List<String> baseline, Verdict verdict) {}

  /** The headline metric of a run folder's job. */
  static String headlineMetric(JsonNode provenance) {
    return switch (provenance.path("job").asText()) {
      case "dann" -> "target_accuracy";
      case "multitask" -> "mean_accuracy";
      default -> "test_accuracy";
    };
  }

  static JsonNode provenance(Storage storage, String run, String side) throws IOException {
    Path dir = storage.path(run);
    storage.requireExists(new Path(dir, Provenance.FILE_NAME), side + " run's provenance");
    return Provenance.read(storage, dir);
  }

  static double[] values(Storage storage, List<String> runs, String metric, String side) throws IOException {
    double[] out = new double[runs.size()];
    for (int i = 0; i < runs.size(); i++) {
      JsonNode p = provenance(storage, runs.get(i), side);
      JsonNode v = p.path("metrics").path(metric);
      if (!v.isNumber()) {
        List<String> have = new ArrayList<>();
        p.path("metrics").fieldNames().forEachRemaining(have::add);
        throw new ConfigException("Run " + runs.get(i) + " has no metric '" + metric + "' (metrics: " + String.join(", ", have) + ")");
      }
      out[i] = v.asDouble();
    }
    return out;
  }

  public static Output run(Request r, Storage storage) throws IOException {
    ConfigException.require(!r.treatment().isEmpty(), "A verdict needs at least 2 runs (seeds) on each side; the treatment has 0");
    String metric = r.metric() != null ? r.metric() : headlineMetric(provenance(storage, r.treatment().get(0), "treatment"));
    double[] treatment = values(storage, r.treatment(), metric, "treatment");
    double[] baseline = values(storage, r.baseline(), metric, "baseline");
    Verdict verdict = Verdict.compare(metric, treatment, baseline, r.alpha(), r.minEffect());
    Output out = new Output("verdict", r.label() == null ? "transfer vs baseline" : r.label(), r.treatment(), r.baseline(), verdict);
    if (r.record()) {
      for (String run : r.treatment()) {
        Path dir = storage.path(run);
        ObjectNode p = (ObjectNode) Provenance.read(storage, dir);
        ObjectNode v = p.putObject("verdict");
        v.setAll((ObjectNode) DivergenceJob.JSON.valueToTree(verdict));
        v.set("baselineRuns", DivergenceJob.JSON.valueToTree(r.baseline()));
        v.set("treatmentRuns", DivergenceJob.JSON.valueToTree(r.treatment()));
        storage.writeString(new Path(dir, Provenance.FILE_NAME), DivergenceJob.JSON.writeValueAsString(p));
      }
    }
    if (r.out() != null) {
      storage.writeString(storage.path(r.out()), DivergenceJob.JSON.writeValueAsString(out));
    }
    return out;
  }

  public static boolean negative(Output out) {
    return out.verdict().outcome() == Outcome.NEGATIVE;
  }
}

package io.graft.diagnostics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.graft.config.ConfigException;
import io.graft.jobs.ExitStatus;
import io.graft.jobs.Job;
import io.graft.jobs.JobMain;
import io.graft.jobs.JobResult;
import io.graft.stats.Verdict;
import io.graft.stats.Verdict.Outcome;
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

  /** {@code graft verdict}: reads run folders only, no Spark. */
  public static final Job<Gate> JOB = Job.<Gate>withArgs("verdict", VerdictArgs::new, (gate, env, resume) -> {},
      (gate, context) -> new Decided(run(gate.request(), context.env().storage()), gate.failOnNegative())).withoutSpark();

  /** Entry point for {@code spark-submit --class io.graft.diagnostics.VerdictJob}: the options of {@code graft verdict}. */
  public static void main(String[] args) {
    System.exit(JobMain.run(JOB, args));
  }

  /** A verdict to reach, and whether a negative one fails the command (exit status 3). */
  public record Gate(Request request, boolean failOnNegative) {}

  /** A verdict reached, as the command reports it. */
  public record Decided(Output output, boolean failOnNegative) implements JobResult {
    @Override
    public List<String> lines() {
      Verdict v = output.verdict();
      return List.of(String.format("verdict=%s metric=%s difference=%+.4f p=%.4g hedges_g=%s", v.outcome(), v.metric(), v.difference(),
          v.pValue(), v.hedgesG() == null ? "n/a" : String.format("%.2f", v.hedgesG())), v.summary());
    }

    @Override
    public int exitStatus() {
      return failOnNegative && negative(output) ? ExitStatus.NEGATIVE_TRANSFER : ExitStatus.OK;
    }
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

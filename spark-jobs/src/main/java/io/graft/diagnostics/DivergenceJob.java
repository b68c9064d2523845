package io.graft.diagnostics;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.graft.config.ConfigException;
import io.graft.data.Manifest;
import io.graft.jobs.Job;
import io.graft.jobs.JobMain;
import io.graft.jobs.JobResult;
import io.graft.spark.GraftDatasets;
import io.graft.spark.GraftSpark;
import io.graft.store.Provenance;
import io.graft.store.Storage;
import io.graft.surgery.Graphs;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * {@code graft divergence}: the proxy A-distance between a source and a target dataset, on their
 * raw inputs or on one layer's features of a model. Writes a JSON record the report reads.
 */
public final class DivergenceJob {
  static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private DivergenceJob() {}

  /** The versions every diagnostics record carries: Graft's and its git commit. */
  static Map<String, Object> versions() {
    Map<String, Object> v = new LinkedHashMap<>();
    v.put("graft", Provenance.BuildInfo.version());
    v.put("gitCommit", Provenance.BuildInfo.gitCommit());
    return v;
  }

  /** {@code graft divergence}: the datasets, their widths and the model's layer checked before Spark starts. */
  public static final Job<Request> JOB = Job.withArgs("divergence", DivergenceArgs::new,
      (request, env, resume) -> validate(request, env.storage()), (request, context) -> run(request, context.spark()));

  /** Entry point for {@code spark-submit --class io.graft.diagnostics.DivergenceJob}: the options of {@code graft divergence}. */
  public static void main(String[] args) {
    System.exit(JobMain.run(JOB, args));
  }

  /**
   * What to compare.
   *
   * @param model a model folder or zip, or null for raw inputs
   * @param layer the layer whose outputs are compared (null: the last below the output)
   * @param maxRows rows per domain (both domains get the same number)
   * @param label how the report names this measurement (default: "source vs target")
   * @param out JSON file to write, or null
   */
  public record Request(String source, String target, String model, String layer, long maxRows, String label, String out,
      ProxyADistance.Options options) {
    public Request {
      ConfigException.require(source != null && !source.isBlank(), "--source is required");
      ConfigException.require(target != null && !target.isBlank(), "--target is required");
      ConfigException.require(maxRows >= 20, "--max-rows must be at least 20, cannot be: %s", maxRows);
      ConfigException.require(model != null || layer == null, "--layer needs --model (the layer is one of the model's)");
    }
  }

  /** The measurement as written to JSON. */
  public record Output(String kind, String label, String source, String target, String model, String features,
      ProxyADistance.Result result, Map<String, Object> versions) implements JobResult {
    @Override
    public List<String> lines() {
      return List.of(String.format("a_distance=%.4f ci95=[%.4f, %.4f] error=%.4f regParam=%g rows_per_domain=%d test_rows=%d features=%s",
          result.aDistance(), result.lower(), result.upper(), result.error(), result.regParam(), result.rowsPerDomain(), result.testRows(),
          features));
    }
  }

  /** What the driver checks before Spark reads a row. */
  record Plan(Manifest source, Manifest target, LayerFeatures.View view, long rowsPerDomain) {}

  static Plan plan(Request request, Storage storage) {
    Manifest src = GraftDatasets.manifest(storage, request.source(), "source");
    Manifest tgt = GraftDatasets.manifest(storage, request.target(), "target");
    LayerFeatures.View view;
    if (request.model() == null) {
      ConfigException.require(src.numFeatures() == tgt.numFeatures(),
          "Cannot compute divergence on raw inputs: source %s has %s features, target %s has %s (compare through a model's layer, "
              + "or import both at one size with --resize)", request.source(), src.numFeatures(), request.target(), tgt.numFeatures());
      view = LayerFeatures.raw();
    } else {
      org.deeplearning4j.nn.api.Model model = Graphs.load(storage, request.model());
      view = LayerFeatures.of(model, request.model(), request.layer(), src.numFeatures(), request.source(), "compute divergence");
      LayerFeatures.of(model, request.model(), request.layer(), tgt.numFeatures(), request.target(), "compute divergence");
    }
    long rows = Math.min(request.maxRows(), Math.min(src.rowCount(), tgt.rowCount()));
    return new Plan(src, tgt, view, rows);
  }

  /** Validates paths, widths and the layer without starting Spark work. */
  public static void validate(Request request, Storage storage) {
    plan(request, storage);
  }

  public static Output run(Request request, SparkSession spark) throws IOException {
    Storage storage = new Storage(spark.sparkContext().hadoopConfiguration());
    Plan plan = plan(request, storage);
    GraftSpark.jobGroup(spark, "graft-divergence", "divergence: " + plan.view().describe(request.model()));
    long seed = request.options().seed();
    Dataset<Row> src = LayerFeatures.extract(spark,
        GraftDatasets.capped(GraftDatasets.read(spark, storage, request.source(), "source").rows(), plan.rowsPerDomain(), seed), plan.view());
    Dataset<Row> tgt = LayerFeatures.extract(spark,
        GraftDatasets.capped(GraftDatasets.read(spark, storage, request.target(), "target").rows(), plan.rowsPerDomain(), seed + 1),
        plan.view());
    ProxyADistance.Result result = ProxyADistance.compute(src, tgt, request.options());
    Map<String, Object> versions = versions();
    Output out = new Output("divergence", request.label() == null ? "source vs target" : request.label(), request.source(),
        request.target(), request.model(), plan.view().raw() ? LayerFeatures.RAW : plan.view().layerName(), result, versions);
    if (request.out() != null) {
      storage.writeString(storage.path(request.out()), JSON.writeValueAsString(out));
    }
    return out;
  }
}

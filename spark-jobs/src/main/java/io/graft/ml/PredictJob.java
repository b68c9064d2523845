package io.graft.ml;

import io.graft.config.ConfigException;
import io.graft.data.Manifest;
import io.graft.jobs.Job;
import io.graft.jobs.JobMain;
import io.graft.jobs.JobResult;
import io.graft.spark.GraftSpark;
import io.graft.store.Storage;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * {@code graft predict}: Parquet in, Parquet out through {@link GraftModelTransformer}. The output
 * is written to a staging folder and renamed into place, so a failed run leaves any earlier
 * output whole.
 */
public final class PredictJob {
  private PredictJob() {}

  /** {@code graft predict}: the model, the layer, the output and the feature width checked before Spark starts. */
  public static final Job<Request> JOB = Job.withArgs("predict", PredictArgs::new, (request, env, resume) -> validate(request, env.storage()),
      (request, context) -> run(request, context.spark()));

  /** Entry point for {@code spark-submit --class io.graft.ml.PredictJob}: the options of {@code graft predict}. */
  public static void main(String[] args) {
    System.exit(JobMain.run(JOB, args));
  }

  public record Request(String model, String data, String out, String featuresCol, String embeddingLayer, boolean overwrite) {
    public Request {
      ConfigException.require(model != null && !model.isBlank(), "--model is required");
      ConfigException.require(data != null && !data.isBlank(), "--data is required");
      ConfigException.require(out != null && !out.isBlank(), "--out is required");
      featuresCol = featuresCol == null ? "features" : featuresCol;
      embeddingLayer = embeddingLayer == null ? "" : embeddingLayer;
    }
  }

  public record Result(String out, long rows) implements JobResult {
    @Override
    public List<String> lines() {
      return List.of(String.format("rows=%d out=%s", rows, out));
    }
  }

  /** Checks the model, the layer, the output and (for Graft datasets) the feature width before Spark reads a row. */
  static GraftModelTransformer plan(Request r, Storage storage) throws IOException {
    storage.requireExists(storage.path(r.data()), "Input data");
    Path out = storage.path(r.out());
    ConfigException.require(r.overwrite() || !storage.exists(out), "Output %s exists (use --overwrite to replace it)", r.out());
    GraftModelTransformer t = GraftModelTransformer.fromModel(storage, r.model()).setFeaturesCol(r.featuresCol());
    try {
      t.setEmbeddingLayer(r.embeddingLayer());
      t.transformSchema(new StructType().add(r.featuresCol(),
          DataTypes.createArrayType(DataTypes.FloatType)));
    } catch (IllegalArgumentException e) {
      throw new ConfigException("Cannot predict: " + e.getMessage());
    }
    Path manifest = new Path(storage.path(r.data()), Manifest.FILE_NAME);
    if (storage.exists(manifest)) {
      Manifest m = Manifest.read(storage, storage.path(r.data()));
      long inputs = t.inputSize();
      ConfigException.require(inputs <= 0 || inputs == m.numFeatures(), "Cannot predict: dataset %s has %s features but model %s takes %s inputs",
          r.data(), m.numFeatures(), r.model(), inputs);
    }
    return t;
  }

  public static void validate(Request r, Storage storage) throws IOException {
    plan(r, storage);
  }

  public static Result run(Request r, SparkSession spark) throws IOException {
    Storage storage = new Storage(spark.sparkContext().hadoopConfiguration());
    GraftModelTransformer t = plan(r, storage);
    Dataset<Row> in = spark.read().parquet(r.data());
    if (!Arrays.asList(in.columns()).contains(r.featuresCol())) {
      throw new ConfigException("Cannot predict: " + r.data() + " has no column '" + r.featuresCol() + "' (columns: "
          + String.join(", ", in.columns()) + ")");
    }
    try {
      t.transformSchema(in.schema());
    } catch (IllegalArgumentException e) {
      throw new ConfigException("Cannot predict: " + e.getMessage());
    }
    GraftSpark.jobGroup(spark, "graft-predict", "predict with " + r.model());
    Path target = storage.qualify(storage.path(r.out()));
    Path staging = new Path(target.getParent(), "._staging-" + target.getName() + "-" + UUID.randomUUID());
    try {
      t.transform(in).write().parquet(staging.toString());
      storage.replaceDirectory(staging, target);
    } finally {
      if (storage.exists(staging)) {
        storage.delete(staging);
      }
    }
    long rows = spark.read().parquet(target.toString()).count();
    return new Result(target.toString(), rows);
  }
}

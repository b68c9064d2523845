package io.graft.ml;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.min;
import static org.apache.spark.sql.functions.size;

import io.graft.config.ConfigException;
import io.graft.config.ConfigLoader;
import io.graft.data.Manifest;
import io.graft.engine.JobOptions;
import io.graft.jobs.finetune.FinetuneConfig;
import io.graft.jobs.finetune.FinetuneJob;
import io.graft.spark.GraftDatasets;
import io.graft.store.Storage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.function.Consumer;
import org.apache.hadoop.fs.Path;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.functions;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWriter;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructType;

/**
 * Graft's fine-tuning as a Spark ML {@link Estimator}: {@code fit} takes a DataFrame of features
 * (array&lt;float&gt;, array&lt;double&gt; or an ML vector) and integer class labels, fine-tunes
 * {@code sourceModel} on it with a strategy through the same engine as {@code graft finetune}
 * (parameter averaging on the executors), and returns the fitted {@link GraftModelTransformer}.
 * It fits in a {@code Pipeline} after Spark's own stages and under {@code CrossValidator} or
 * {@code TrainValidationSplit} with a grid over its params.
 *
 * <p>{@code fit} stages the rows as two Graft datasets under {@code workDir} (any Hadoop URI the
 * executors reach: give an HDFS folder on a cluster): {@code testFraction} of them, drawn with the
 * seed, scores the fitted model once at the end ({@code test_accuracy} in the log); the rest
 * trains, {@code validationFraction} of it validating each round. The staged data and the run
 * folder are removed when {@code fit} returns.
 */
public final class GraftFineTuner extends Estimator<GraftModelTransformer> implements MLWritable {
  private static final long serialVersionUID = 1L;
  static final List<String> STRATEGIES = Arrays.stream(FinetuneConfig.Strategy.values())
      .map(s -> s.name().toLowerCase(Locale.ROOT).replace('_', '-')).toList();

  private final String uid;
  // Created in the constructor: a Param records its parent's uid, which is not set during field initialisation.
  private final Param<String> sourceModel;
  private final Param<String> strategy;
  private final Param<String> featuresCol;
  private final Param<String> labelCol;
  private final Param<String> predictionCol;
  private final Param<String> probabilityCol;
  private final IntParam labelsPerClass;
  private final DoubleParam validationFraction;
  private final DoubleParam testFraction;
  private final IntParam epochs;
  private final IntParam headEpochs;
  private final DoubleParam learningRate;
  private final IntParam batchSize;
  private final IntParam averagingFrequency;
  private final LongParam seed;
  private final Param<String> workDir;

  public GraftFineTuner() {
    this(Identifiable.randomUID("graftFineTuner"));
  }

  /** With a given uid ({@code copy} and {@code load} use it). */
  public GraftFineTuner(String uid) {
    this.uid = uid;
    sourceModel = new Param<>(this, "sourceModel", "the pretrained model: a Graft model folder or a DL4J zip (any Hadoop URI)",
        (String v) -> v != null && !v.isBlank());
    strategy = new Param<>(this, "strategy", "fine-tuning strategy: " + String.join(", ", STRATEGIES), ParamValidators.inArray(
        STRATEGIES.toArray(String[]::new)));
    featuresCol = new Param<>(this, "featuresCol", "input column: array<float|double> or vector");
    labelCol = new Param<>(this, "labelCol", "label column: class index 0..k-1 (any numeric type)");
    predictionCol = new Param<>(this, "predictionCol", "the fitted model's output column: predicted class index (double)");
    probabilityCol = new Param<>(this, "probabilityCol", "the fitted model's output column: class probabilities (vector); empty for none");
    labelsPerClass = new IntParam(this, "labelsPerClass", "labelled rows per class drawn for training (0 = all)", ParamValidators.gtEq(0));
    validationFraction = new DoubleParam(this, "validationFraction", "share of the training rows that validates each round",
        ParamValidators.inRange(0, 1, false, false));
    testFraction = new DoubleParam(this, "testFraction", "share of the rows held out to score the fitted model once",
        ParamValidators.inRange(0, 1, false, false));
    epochs = new IntParam(this, "epochs", "rounds of fine-tuning in all", ParamValidators.gtEq(1));
    headEpochs = new IntParam(this, "headEpochs", "two-stage: rounds that train the new head alone", ParamValidators.gtEq(1));
    learningRate = new DoubleParam(this, "learningRate", "Adam's learning rate for the top layer", ParamValidators.gt(0));
    batchSize = new IntParam(this, "batchSize", "minibatch size on each worker", ParamValidators.gtEq(1));
    averagingFrequency = new IntParam(this, "averagingFrequency", "minibatches each worker fits between parameter averagings",
        ParamValidators.gtEq(1));
    seed = new LongParam(this, "seed", "seed of the splits, the label budget and the new head's weights");
    workDir = new Param<>(this, "workDir", "folder (any Hadoop URI the executors reach) for the staged rows and the run",
        (String v) -> v != null && !v.isBlank());
    setDefault(strategy, "two-stage");
    setDefault(featuresCol, "features");
    setDefault(labelCol, "label");
    setDefault(predictionCol, "prediction");
    setDefault(probabilityCol, "probability");
    setDefault(labelsPerClass, (Object) 0);
    setDefault(validationFraction, (Object) 0.1);
    setDefault(testFraction, (Object) 0.1);
    setDefault(epochs, (Object) 10);
    setDefault(headEpochs, (Object) 2);
    setDefault(learningRate, (Object) 1e-3);
    setDefault(batchSize, (Object) 32);
    setDefault(averagingFrequency, (Object) 5);
    setDefault(seed, (Object) 42L);
    setDefault(workDir, new Path(System.getProperty("java.io.tmpdir"), "graft-finetuner").toUri().toString());
  }

  @Override
  public String uid() {
    return uid;
  }

  // @formatter:off
  public Param<String> sourceModel() { return sourceModel; }
  public Param<String> strategy() { return strategy; }
  public Param<String> featuresCol() { return featuresCol; }
  public Param<String> labelCol() { return labelCol; }
  public Param<String> predictionCol() { return predictionCol; }
  public Param<String> probabilityCol() { return probabilityCol; }
  public IntParam labelsPerClass() { return labelsPerClass; }
  public DoubleParam validationFraction() { return validationFraction; }
  public DoubleParam testFraction() { return testFraction; }
  public IntParam epochs() { return epochs; }
  public IntParam headEpochs() { return headEpochs; }
  public DoubleParam learningRate() { return learningRate; }
  public IntParam batchSize() { return batchSize; }
  public IntParam averagingFrequency() { return averagingFrequency; }
  public LongParam seed() { return seed; }
  public Param<String> workDir() { return workDir; }

  public GraftFineTuner setSourceModel(String v) { set(sourceModel, v); return this; }
  public GraftFineTuner setStrategy(String v) { set(strategy, v); return this; }
  public GraftFineTuner setFeaturesCol(String v) { set(featuresCol, v); return this; }
  public GraftFineTuner setLabelCol(String v) { set(labelCol, v); return this; }
  public GraftFineTuner setPredictionCol(String v) { set(predictionCol, v); return this; }
  public GraftFineTuner setProbabilityCol(String v) { set(probabilityCol, v); return this; }
  public GraftFineTuner setLabelsPerClass(int v) { set(labelsPerClass, v); return this; }
  public GraftFineTuner setValidationFraction(double v) { set(validationFraction, v); return this; }
  public GraftFineTuner setTestFraction(double v) { set(testFraction, v); return this; }
  public GraftFineTuner setEpochs(int v) { set(epochs, v); return this; }
  public GraftFineTuner setHeadEpochs(int v) { set(headEpochs, v); return this; }
  public GraftFineTuner setLearningRate(double v) { set(learningRate, v); return this; }
  public GraftFineTuner setBatchSize(int v) { set(batchSize, v); return this; }
  public GraftFineTuner setAveragingFrequency(int v) { set(averagingFrequency, v); return this; }
  public GraftFineTuner setSeed(long v) { set(seed, v); return this; }
  public GraftFineTuner setWorkDir(String v) { set(workDir, v); return this; }
  // @formatter:on

  /** Checks the input columns (features, label) and that the model's output columns are free. */
  @Override
  public StructType transformSchema(StructType schema) {
    if (!isDefined(sourceModel)) {
      throw new IllegalArgumentException("GraftFineTuner: sourceModel is not set (setSourceModel: a Graft model folder or DL4J zip)");
    }
    List<String> columns = Arrays.asList(schema.fieldNames());
    String label = getOrDefault(labelCol);
    if (!columns.contains(label)) {
      throw new IllegalArgumentException("labelCol '" + label + "' not found (columns: " + String.join(", ", columns) + ")");
    }
    if (!(schema.apply(label).dataType() instanceof NumericType)) {
      throw new IllegalArgumentException("labelCol '" + label + "' is " + schema.apply(label).dataType().simpleString()
          + "; expected a numeric class index (index string labels first, e.g. with a StringIndexer)");
    }
    return output(schema);
  }

  private StructType output(StructType schema) {
    return GraftModelTransformer.outputSchema(schema, getOrDefault(featuresCol), getOrDefault(predictionCol), getOrDefault(probabilityCol), "");
  }

  @Override
  public GraftModelTransformer fit(Dataset<?> dataset) {
    transformSchema(dataset.schema());
    SparkSession spark = dataset.sparkSession();
    Storage storage = new Storage(spark.sparkContext().hadoopConfiguration());
    Consumer<String> log = line -> System.out.println("[" + uid + "] " + line);
    try {
      Path run = storage.qualify(new Path(storage.path(getOrDefault(workDir)), uid + "-" + UUID.randomUUID()));
      if (!spark.sparkContext().isLocal() && "file".equals(run.toUri().getScheme())) {
        throw new IllegalArgumentException("GraftFineTuner: workDir " + getOrDefault(workDir) + " is on the driver's disk, which the "
            + "executors of " + spark.sparkContext().master() + " cannot read; set workDir to a folder they reach (e.g. hdfs://...)");
      }
      try {
        Dataset<Row> rows = dataset.select(features(dataset.schema()).as(GraftDatasets.FEATURES),
            col(getOrDefault(labelCol)).cast(DataTypes.IntegerType).as(GraftDatasets.LABEL));
        Shape shape = shape(rows, GraftModelTransformer.fromModel(storage, getOrDefault(sourceModel)).inputSize());
        GraftDatasets.Split split = GraftDatasets.holdout(rows, (Double) getOrDefault(testFraction), (Long) getOrDefault(seed));
        String train = stage(storage, split.train(), new Path(run, "train"), shape);
        String test = stage(storage, split.heldOut(), new Path(run, "test"), shape);
        FinetuneConfig config = ConfigLoader.load(null, List.of("source=" + getOrDefault(sourceModel), "data.train=" + train, "data.test=" + test,
            "data.labelsPerClass=" + getOrDefault(labelsPerClass), "data.validationFraction=" + getOrDefault(validationFraction),
            "strategy=" + getOrDefault(strategy), "epochs=" + getOrDefault(epochs), "headEpochs=" + getOrDefault(headEpochs),
            "optimizer.learningRate=" + getOrDefault(learningRate), "training.batchSizePerWorker=" + getOrDefault(batchSize),
            "training.averagingFrequency=" + getOrDefault(averagingFrequency), "training.seed=" + getOrDefault(seed),
            "output=" + new Path(run, "model")), FinetuneConfig.class);
        FinetuneJob.Result result = FinetuneJob.run(config, spark, new JobOptions(false, List.of(), log));
        log.accept(String.format("%s from %s: test_accuracy=%.4f on %,d held-out rows", getOrDefault(strategy), getOrDefault(sourceModel),
            result.testAccuracy(), result.testRows()));
        GraftModelTransformer model = GraftModelTransformer.fromModel(storage, result.output())
            .setFeaturesCol(getOrDefault(featuresCol)).setPredictionCol(getOrDefault(predictionCol))
            .setProbabilityCol(getOrDefault(probabilityCol));
        return model.setParent(this);
      } finally {
        if (storage.exists(run)) {
          storage.delete(run);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (ConfigException e) {
      throw new IllegalArgumentException("GraftFineTuner: " + e.getMessage(), e);
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException("GraftFineTuner: fine-tuning failed: " + e.getMessage(), e);
    }
  }

  /** The features column as array&lt;float&gt;. */
  private Column features(StructType schema) {
    String in = getOrDefault(featuresCol);
    DataType type = schema.apply(in).dataType();
    Column c = col(in);
    if (type.equals(SQLDataTypes.VectorType())) {
      return functions.vector_to_array(c, "float32");
    }
    return type instanceof ArrayType a && a.elementType().equals(DataTypes.FloatType) ? c
        : c.cast(DataTypes.createArrayType(DataTypes.FloatType, false));
  }

  /** The rows' feature width and class count, checked: one width, labels 0..k-1. */
  private Shape shape(Dataset<Row> rows, long inputs) {
    Row r = rows.agg(min(size(col(GraftDatasets.FEATURES))), max(size(col(GraftDatasets.FEATURES))), min(col(GraftDatasets.LABEL)),
        max(col(GraftDatasets.LABEL)), count(lit(1))).first();
    String features = getOrDefault(featuresCol);
    String label = getOrDefault(labelCol);
    if (r.getLong(4) == 0) {
      throw new IllegalArgumentException("GraftFineTuner: the DataFrame has no rows");
    }
    if (r.isNullAt(0) || r.getInt(0) != r.getInt(1)) {
      throw new IllegalArgumentException("GraftFineTuner: featuresCol '" + features + "' has rows of different widths (" + r.get(0) + " to "
          + r.get(1) + ")");
    }
    if (inputs > 0 && r.getInt(0) != inputs) {
      throw new IllegalArgumentException("GraftFineTuner: featuresCol '" + features + "' has " + r.getInt(0) + " values per row but "
          + getOrDefault(sourceModel) + " takes " + inputs);
    }
    if (r.isNullAt(2) || r.getInt(2) < 0) {
      throw new IllegalArgumentException("GraftFineTuner: labelCol '" + label + "' has a label below 0 or a null one (" + r.get(2) + ")");
    }
    return new Shape(r.getInt(0), r.getInt(3) + 1);
  }

  private record Shape(int numFeatures, int numClasses) {}

  /** Writes rows as a Graft dataset: Parquet, and a manifest naming no raw sources (the rows came from a DataFrame). */
  private static String stage(Storage storage, Dataset<Row> rows, Path dir, Shape shape) throws IOException {
    rows.withColumn(GraftDatasets.DOMAIN, lit(null).cast(DataTypes.StringType))
        .withColumn(GraftDatasets.TASK, lit(null).cast(DataTypes.StringType))
        .withColumn(GraftDatasets.TEXT, lit(null).cast(DataTypes.StringType))
        .write().parquet(dir.toString());
    long[] counts = new long[shape.numClasses()];
    long total = 0;
    for (Row c : rows.sparkSession().read().parquet(dir.toString()).groupBy(GraftDatasets.LABEL).count().collectAsList()) {
      counts[c.getInt(0)] = c.getLong(1);
      total += c.getLong(1);
    }
    List<String> names = new ArrayList<>();
    for (int i = 0; i < shape.numClasses(); i++) {
      names.add(Integer.toString(i));
    }
    new Manifest(Manifest.FORMAT_VERSION, "dataframe", new int[] {shape.numFeatures()}, shape.numFeatures(), shape.numClasses(), names, total,
        counts, 0, 0, null, List.of(), null, null, false, Instant.now().toString(), null).write(storage, dir);
    return dir.toString();
  }

  @Override
  public GraftFineTuner copy(ParamMap extra) {
    return defaultCopy(extra);
  }

  @Override
  public MLWriter write() {
    return new DefaultParamsWriter(this);
  }

  public static MLReader<GraftFineTuner> read() {
    return new DefaultParamsReader<>();
  }

  public static GraftFineTuner load(String path) {
    return read().load(path);
  }
}

package io.graft.spark;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.input_file_name;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.rand;
import static org.apache.spark.sql.functions.row_number;
import static org.apache.spark.sql.functions.size;

import io.graft.data.BadRecordPolicy;
import io.graft.data.DataException;
import io.graft.data.Manifest;
import io.graft.store.Storage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.function.Function;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/** Reads Graft datasets (Parquet + {@code _manifest.json}) and turns rows into DL4J minibatches. */
public final class GraftDatasets {
  public static final String FEATURES = "features";
  public static final String LABEL = "label";
  public static final String DOMAIN = "domain";
  public static final String TASK = "task";
  public static final String TEXT = "text";

  /** The columns of a Graft dataset; domain, task and text are optional. */
  public static final StructType SCHEMA = new StructType(new StructField[] {
      new StructField(FEATURES, DataTypes.createArrayType(DataTypes.FloatType, false), false, Metadata.empty()),
      new StructField(LABEL, DataTypes.IntegerType, false, Metadata.empty()),
      new StructField(DOMAIN, DataTypes.StringType, true, Metadata.empty()),
      new StructField(TASK, DataTypes.StringType, true, Metadata.empty()),
      new StructField(TEXT, DataTypes.StringType, true, Metadata.empty())});

  private GraftDatasets() {}

  /** A dataset as read: where it is, its manifest and its rows. */
  public record Loaded(String uri, Manifest manifest, Dataset<Row> rows) {}

  /** Checks the manifest (driver only, no Spark job) and fails with a one-line message. */
  public static Manifest manifest(Storage storage, String uri, String role) {
    try {
      return Manifest.read(storage, storage.path(uri));
    } catch (DataException e) {
      throw new DataException("Cannot use " + role + " dataset: " + e.getMessage());
    }
  }

  /** Reads the rows and checks the Parquet schema against what Graft needs. */
  public static Loaded read(SparkSession spark, Storage storage, String uri, String role) {
    Manifest manifest = manifest(storage, uri, role);
    Dataset<Row> rows = spark.read().parquet(uri);
    StructType schema = rows.schema();
    requireColumn(schema, FEATURES, DataTypes.createArrayType(DataTypes.FloatType), uri);
    requireColumn(schema, LABEL, DataTypes.IntegerType, uri);
    return new Loaded(uri, manifest, rows);
  }

  /**
   * Reads a dataset for an objective that never looks at labels: only the {@code features}
   * column is required (a Parquet dataset without a {@code label} column works).
   */
  public static Loaded readFeatures(SparkSession spark, Storage storage, String uri, String role) {
    Manifest manifest = manifest(storage, uri, role);
    Dataset<Row> rows = spark.read().parquet(uri);
    requireColumn(rows.schema(), FEATURES, DataTypes.createArrayType(DataTypes.FloatType), uri);
    return new Loaded(uri, manifest, rows.select(FEATURES));
  }

  /**
   * {@link #check}'s twin for unlabelled use: checks every row's width only.
   *
   * @throws DataException naming the dataset, the count and the first bad row's file, under fail
   */
  public static Checked checkFeatures(Loaded data, int numFeatures, BadRecordPolicy policy) {
    return checkRows(data, badWidth(numFeatures), lit(0),
        r -> "has " + r.getInt(1) + " features, the model takes " + numFeatures, null, "has no usable rows", policy);
  }

  private static void requireColumn(StructType schema, String name, DataType type, String uri) {
    StructField field = null;
    for (StructField f : schema.fields()) {
      if (f.name().equals(name)) {
        field = f;
      }
    }
    if (field == null) {
      throw new DataException("Dataset " + uri + " has no '" + name + "' column (columns: " + String.join(", ", schema.fieldNames()) + ")");
    }
    DataType actual = field.dataType();
    boolean ok = type instanceof ArrayType at
        ? actual instanceof ArrayType aa && aa.elementType().equals(at.elementType())
        : actual.equals(type);
    if (!ok) {
      throw new DataException("Dataset " + uri + " column '" + name + "' is " + actual.simpleString() + ", expected " + type.simpleString());
    }
  }

  /** What a row check found: rows kept and skipped. */
  public record Checked(Dataset<Row> rows, long kept, long skipped) {}

  /**
   * Checks every row's width and label against what the model expects, as one Spark job before
   * training. Unlabelled rows ({@code -1}) are dropped when {@code requireLabels}.
   *
   * @throws DataException naming the dataset, the count and the first bad row's file, under fail
   */
  public static Checked check(Loaded data, int numFeatures, int numClasses, boolean requireLabels, BadRecordPolicy policy) {
    Column badLabel = col(LABEL).geq(numClasses).or(col(LABEL).lt(-1));
    return checkRows(data, badWidth(numFeatures).or(badLabel), col(LABEL), r -> r.getInt(1) != numFeatures
            ? "has " + r.getInt(1) + " features, the model takes " + numFeatures
            : "has label " + r.getInt(2) + ", outside the model's classes [0, " + numClasses + ")",
        requireLabels ? col(LABEL).geq(0) : null, "has no usable labelled rows", policy);
  }

  private static Column badWidth(int numFeatures) {
    return col(FEATURES).isNull().or(size(col(FEATURES)).notEqual(numFeatures));
  }

  /**
   * The row check both {@link #check} and {@link #checkFeatures} run: counts the rows matching
   * {@code bad}, fails naming the first one's file ({@code describe} sees file, width and
   * {@code shown}) or skips them, keeps the rest (and only those matching {@code keep} when set).
   */
  private static Checked checkRows(Loaded data, Column bad, Column shown, Function<Row, String> describe, Column keep,
      String noneLeft, BadRecordPolicy policy) {
    Dataset<Row> badRows = data.rows().withColumn("_file", input_file_name()).filter(bad);
    List<Row> first = badRows.select(col("_file"), size(col(FEATURES)).as("_width"), shown).limit(1).collectAsList();
    long skipped = 0;
    if (!first.isEmpty()) {
      long count = badRows.count();
      Row r = first.get(0);
      if (policy == BadRecordPolicy.FAIL) {
        throw new DataException("Dataset " + data.uri() + ": " + count + " bad row(s); the first, in " + r.getString(0) + ", "
            + describe.apply(r) + " (use --on-bad-record skip to drop them)");
      }
      skipped = count;
    }
    Dataset<Row> good = data.rows().filter(bad.unary_$bang());
    if (keep != null) {
      good = good.filter(keep);
    }
    long kept = good.count();
    if (kept == 0) {
      throw new DataException("Dataset " + data.uri() + " " + noneLeft);
    }
    return new Checked(good, kept, skipped);
  }

  /** Rows of equal width as one [rows, width] float matrix (a network's flat input). */
  public static INDArray stack(List<float[]> rows) {
    int width = rows.get(0).length;
    float[] flat = new float[rows.size() * width];
    for (int i = 0; i < rows.size(); i++) {
      System.arraycopy(rows.get(i), 0, flat, i * width, width);
    }
    return Nd4j.create(flat, new long[] {rows.size(), width}, 'c');
  }

  /** Groups rows into minibatches of {@code batchSize} (features [b, F], one-hot labels [b, K]). */
  public static JavaRDD<DataSet> miniBatches(Dataset<Row> rows, int batchSize, int numFeatures, int numClasses) {
    return rows.select(FEATURES, LABEL).javaRDD().mapPartitions(new ToMiniBatches(batchSize, numFeatures, numClasses));
  }

  /** Executor side of {@link #miniBatches}: holds only primitives. */
  static final class ToMiniBatches implements FlatMapFunction<Iterator<Row>, DataSet> {
    private final int batchSize;
    private final int numFeatures;
    private final int numClasses;

    ToMiniBatches(int batchSize, int numFeatures, int numClasses) {
      this.batchSize = batchSize;
      this.numFeatures = numFeatures;
      this.numClasses = numClasses;
    }

    @Override
    public Iterator<DataSet> call(Iterator<Row> rows) {
      List<DataSet> out = new ArrayList<>();
      float[] features = new float[batchSize * numFeatures];
      int[] labels = new int[batchSize];
      int n = 0;
      while (rows.hasNext()) {
        Row row = rows.next();
        List<Float> f = row.getList(0);
        int off = n * numFeatures;
        for (int j = 0; j < numFeatures; j++) {
          features[off + j] = f.get(j);
        }
        labels[n++] = row.getInt(1);
        if (n == batchSize) {
          out.add(toDataSet(features, labels, n));
          n = 0;
        }
      }
      if (n > 0) {
        out.add(toDataSet(features, labels, n));
      }
      return out.iterator();
    }

    private DataSet toDataSet(float[] features, int[] labels, int n) {
      float[] f = n == batchSize ? features.clone() : Arrays.copyOf(features, n * numFeatures);
      INDArray x = Nd4j.create(f, new long[] {n, numFeatures}, 'c');
      INDArray y = Nd4j.zeros(org.nd4j.linalg.api.buffer.DataType.FLOAT, n, numClasses);
      for (int i = 0; i < n; i++) {
        if (labels[i] >= 0) {
          y.putScalar(i, labels[i], 1f);
        }
      }
      return new DataSet(x, y);
    }
  }

  /**
   * At most {@code maxRows} rows drawn at random with {@code seed} (all rows when 0). Not the
   * first rows in file order: a dataset written sorted by label (IMDB's reviews are) would give a
   * one-class subset.
   */
  public static Dataset<Row> capped(Dataset<Row> rows, long maxRows, long seed) {
    if (maxRows <= 0) {
      return rows;
    }
    return rows.orderBy(rand(seed)).limit((int) Math.min(Integer.MAX_VALUE, maxRows));
  }

  /** Rows split into the ones a job trains on and the ones it holds out to evaluate. */
  public record Split(Dataset<Row> train, Dataset<Row> heldOut) {}

  /**
   * The one holdout every training job uses: a seeded random {@code fraction} of {@code rows} held
   * out, the rest trained on. The same rows, fraction and seed give the same split.
   */
  public static Split holdout(Dataset<Row> rows, double fraction, long seed) {
    Dataset<Row>[] parts = rows.randomSplit(new double[] {1 - fraction, fraction}, seed);
    return new Split(parts[0], parts[1]);
  }

  /** A stratified subset: {@code perClass} rows of each label, drawn at random with {@code seed}. */
  public static Dataset<Row> stratified(Dataset<Row> rows, int perClass, long seed) {
    return rows.withColumn("_r", row_number().over(
            Window.partitionBy(col(LABEL)).orderBy(rand(seed))))
        .filter(col("_r").leq(perClass)).drop("_r");
  }

  /** Rows in an RDD of minibatches (one Spark job). */
  public static long countExamples(JavaRDD<DataSet> batches) {
    return batches.map(DataSet::numExamples).fold(0, Integer::sum);
  }

  /** The Hadoop path of a dataset URI. */
  public static Path path(String uri) {
    return new Path(uri);
  }
}

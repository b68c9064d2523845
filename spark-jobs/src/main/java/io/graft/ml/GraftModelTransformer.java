package io.graft.ml;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.graft.engine.BroadcastNetwork;
import io.graft.store.Storage;
import io.graft.surgery.Graphs;
import io.graft.surgery.Surgery;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A Graft (or any DL4J MultiLayerNetwork or ComputationGraph) classifier as a Spark ML {@link Transformer} (a
 * {@link Model}, as {@link GraftFineTuner} fits it): adds
 * {@code prediction} (double, the arg-max class), {@code probability} (vector, the softmax
 * output) and, when {@code embeddingLayer} names a layer, {@code embedding} (vector, that layer's
 * output) to a DataFrame whose {@code featuresCol} holds array&lt;float&gt;, array&lt;double&gt; or
 * an ML vector. Rows go through the network in batches on the executors; the network is
 * broadcast once per {@code transform}.
 *
 * <p>It saves and loads like any Spark ML stage ({@link MLWritable}; {@code read()} / {@code
 * load(path)}), inside a {@code PipelineModel} too: {@code path/metadata} in Spark's format and
 * {@code path/model.zip} (DL4J's format, loadable by {@code graft inspect}).
 */
public final class GraftModelTransformer extends Model<GraftModelTransformer> implements MLWritable {
  private static final long serialVersionUID = 1L;
  private static final ObjectMapper JSON = new ObjectMapper();
  static final String MODEL_FILE = "model.zip";

  private final String uid;
  private final String confJson;
  private final boolean graph;
  private final INDArray params;
  private final List<String> layerNames;
  private final long inputs;

  // Created in the constructor: a Param records its parent's uid, which is not set during field initialisation.
  private final Param<String> featuresCol;
  private final Param<String> predictionCol;
  private final Param<String> probabilityCol;
  private final Param<String> embeddingLayer;
  private final Param<String> embeddingCol;
  private final IntParam batchSize;

  public GraftModelTransformer(MultiLayerNetwork network) {
    this(Identifiable.randomUID("graftModel"), network);
  }

  /** A ComputationGraph classifier (one output layer): a residual trunk, a model imported from ONNX. */
  public GraftModelTransformer(ComputationGraph network) {
    this(Identifiable.randomUID("graftModel"), network);
  }

  private GraftModelTransformer(String uid, org.deeplearning4j.nn.api.Model network) {
    this(uid, network instanceof ComputationGraph g ? g.getConfiguration().toJson() : ((MultiLayerNetwork) network).getLayerWiseConfigurations().toJson(),
        network instanceof ComputationGraph, network.params().dup());
  }

  private GraftModelTransformer(String uid, String confJson, boolean graph, INDArray params) {
    this.uid = uid;
    this.confJson = confJson;
    this.graph = graph;
    this.params = params;
    org.deeplearning4j.nn.api.Model net = model();
    if (net instanceof ComputationGraph g) {
      this.layerNames = g.getConfiguration().getTopologicalOrderStr().stream().filter(v -> !g.getConfiguration().getNetworkInputs().contains(v))
          .toList();
      this.inputs = Graphs.inputSize(g);
    } else {
      this.layerNames = List.copyOf(Surgery.layerNames((MultiLayerNetwork) net));
      this.inputs = Surgery.inputSize((MultiLayerNetwork) net);
    }
    featuresCol = new Param<>(this, "featuresCol", "input column: array<float|double> or vector");
    predictionCol = new Param<>(this, "predictionCol", "output column: predicted class index (double)");
    probabilityCol = new Param<>(this, "probabilityCol", "output column: class probabilities (vector); empty for none");
    embeddingLayer = new Param<>(this, "embeddingLayer", "layer whose output becomes the embedding column; empty for none");
    embeddingCol = new Param<>(this, "embeddingCol", "output column: the embedding (vector)");
    batchSize = new IntParam(this, "batchSize", "rows per forward pass", ParamValidators.gtEq(1));
    setDefault(featuresCol, "features");
    setDefault(predictionCol, "prediction");
    setDefault(probabilityCol, "probability");
    setDefault(embeddingLayer, "");
    setDefault(embeddingCol, "embedding");
    setDefault(batchSize, (Object) 256);
  }

  /** Loads a Graft model folder or a DL4J zip (any Hadoop URI). */
  public static GraftModelTransformer fromModel(Storage storage, String uri) {
    return new GraftModelTransformer(Identifiable.randomUID("graftModel"), Graphs.load(storage, uri));
  }

  /** A fresh copy of the network (parameters copied): a MultiLayerNetwork or a ComputationGraph. */
  public org.deeplearning4j.nn.api.Model model() {
    if (graph) {
      ComputationGraph g = new ComputationGraph(ComputationGraphConfiguration.fromJson(confJson));
      g.init(params.dup(), false);
      return g;
    }
    MultiLayerNetwork net = new MultiLayerNetwork(MultiLayerConfiguration.fromJson(confJson));
    net.init(params.dup(), false);
    return net;
  }

  /** A fresh copy of a MultiLayerNetwork model (parameters copied); {@link #model()} for either kind. */
  public MultiLayerNetwork network() {
    if (graph) {
      throw new IllegalStateException("This model is a ComputationGraph; use model()");
    }
    return (MultiLayerNetwork) model();
  }

  @Override
  public String uid() {
    return uid;
  }

  public Param<String> featuresCol() { return featuresCol; }
  public Param<String> predictionCol() { return predictionCol; }
  public Param<String> probabilityCol() { return probabilityCol; }
  public Param<String> embeddingLayer() { return embeddingLayer; }
  public Param<String> embeddingCol() { return embeddingCol; }
  public IntParam batchSize() { return batchSize; }

  public GraftModelTransformer setFeaturesCol(String v) { set(featuresCol, v); return this; }
  public GraftModelTransformer setPredictionCol(String v) { set(predictionCol, v); return this; }
  public GraftModelTransformer setProbabilityCol(String v) { set(probabilityCol, v); return this; }
  public GraftModelTransformer setEmbeddingLayer(String v) { set(embeddingLayer, v); return this; }
  public GraftModelTransformer setEmbeddingCol(String v) { set(embeddingCol, v); return this; }
  public GraftModelTransformer setBatchSize(int v) { set(batchSize, v); return this; }

  private int embeddingIndex() {
    String layer = getOrDefault(embeddingLayer);
    if (layer.isEmpty()) {
      return -1;
    }
    int i = layerNames.indexOf(layer);
    if (i < 0) {
      throw new IllegalArgumentException("embeddingLayer '" + layer + "' not found in model (layers: " + String.join(", ", layerNames) + ")");
    }
    return i;
  }

  @Override
  public StructType transformSchema(StructType schema) {
    embeddingIndex();
    return outputSchema(schema, getOrDefault(featuresCol), getOrDefault(predictionCol), getOrDefault(probabilityCol),
        getOrDefault(embeddingLayer).isEmpty() ? "" : getOrDefault(embeddingCol));
  }

  /**
   * {@code schema} with a model's output columns added, after checking the features column's
   * type and that no output column exists yet; an empty probability or embedding column is none.
   */
  static StructType outputSchema(StructType schema, String features, String prediction, String probability, String embedding) {
    if (!Arrays.asList(schema.fieldNames()).contains(features)) {
      throw new IllegalArgumentException("featuresCol '" + features + "' not found (columns: " + String.join(", ", schema.fieldNames()) + ")");
    }
    DataType type = schema.apply(features).dataType();
    boolean ok = type.equals(SQLDataTypes.VectorType()) || type instanceof ArrayType a && a.elementType() instanceof NumericType;
    if (!ok) {
      throw new IllegalArgumentException("featuresCol '" + features + "' is " + type.simpleString()
          + "; expected array<float>, array<double> or vector");
    }
    List<StructField> fields = new ArrayList<>(Arrays.asList(schema.fields()));
    for (String out : List.of(prediction, probability, embedding)) {
      if (!out.isEmpty() && Arrays.asList(schema.fieldNames()).contains(out)) {
        throw new IllegalArgumentException("Output column '" + out + "' already exists");
      }
    }
    fields.add(new StructField(prediction, DataTypes.DoubleType, false, Metadata.empty()));
    if (!probability.isEmpty()) {
      fields.add(new StructField(probability, SQLDataTypes.VectorType(), false, Metadata.empty()));
    }
    if (!embedding.isEmpty()) {
      fields.add(new StructField(embedding, SQLDataTypes.VectorType(), false, Metadata.empty()));
    }
    return new StructType(fields.toArray(new StructField[0]));
  }

  @Override
  public Dataset<Row> transform(Dataset<?> dataset) {
    StructType out = transformSchema(dataset.schema());
    SparkSession spark = dataset.sparkSession();
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    BroadcastNetwork shipped = new BroadcastNetwork(sc.broadcast(confJson), sc.broadcast(params), graph);
    int in = dataset.schema().fieldIndex(getOrDefault(featuresCol));
    int embedding = embeddingIndex();
    JavaRDD<Row> rows = dataset.toDF().javaRDD().mapPartitions(new PredictPartition(shipped, in, (int) inputs, embedding,
        embedding < 0 ? null : layerNames.get(embedding), !getOrDefault(probabilityCol).isEmpty(), (Integer) getOrDefault(batchSize)));
    return spark.createDataFrame(rows, out);
  }

  /** The number of input values the network takes (its first layer's width; -1 when it cannot tell). */
  public long inputSize() {
    return inputs;
  }

  @Override
  public GraftModelTransformer copy(ParamMap extra) {
    GraftModelTransformer c = copyValues(new GraftModelTransformer(uid, confJson, graph, params), extra);
    return hasParent() ? c.setParent(parent()) : c;
  }

  @Override
  public MLWriter write() {
    return new Writer(this);
  }

  public static MLReader<GraftModelTransformer> read() {
    return new Reader();
  }

  public static GraftModelTransformer load(String path) {
    return read().load(path);
  }

  /** Writes {@code path/metadata/part-00000} (Spark's stage metadata, so PipelineModel.load finds this class) and {@code path/model.zip}. */
  static final class Writer extends MLWriter {
    private final GraftModelTransformer stage;

    Writer(GraftModelTransformer stage) {
      this.stage = stage;
    }

    @Override
    public void saveImpl(String path) {
      Storage storage = new Storage(sc().hadoopConfiguration());
      ObjectNode meta = JSON.createObjectNode();
      meta.put("class", GraftModelTransformer.class.getName());
      meta.put("timestamp", System.currentTimeMillis());
      meta.put("sparkVersion", sc().version());
      meta.put("uid", stage.uid());
      ObjectNode set = meta.putObject("paramMap");
      ObjectNode defaults = meta.putObject("defaultParamMap");
      for (Param<?> p : stage.params()) {
        if (stage.isSet(p)) {
          set.set(p.name(), JSON.valueToTree(stage.getOrDefault(p)));
        } else if (stage.hasDefault(p)) {
          defaults.set(p.name(), JSON.valueToTree(stage.getOrDefault(p)));
        }
      }
      try {
        storage.writeString(new Path(new Path(path, "metadata"), "part-00000"), JSON.writeValueAsString(meta) + "\n");
        org.deeplearning4j.nn.api.Model net = stage.model();
        storage.writeAtomically(new Path(path, MODEL_FILE), out -> ModelSerializer.writeModel(net, out, false));
      } catch (IOException e) {
        throw new UncheckedIOException("Cannot save Graft model stage to " + path, e);
      }
    }
  }

  static final class Reader extends MLReader<GraftModelTransformer> {
    @Override
    public GraftModelTransformer load(String path) {
      Storage storage = new Storage(sc().hadoopConfiguration());
      try {
        JsonNode meta = JSON.readTree(storage.readString(new Path(new Path(path, "metadata"), "part-00000")));
        if (!GraftModelTransformer.class.getName().equals(meta.path("class").asText())) {
          throw new IllegalArgumentException("Stage at " + path + " is a " + meta.path("class").asText() + ", not a Graft model");
        }
        org.deeplearning4j.nn.api.Model net = Graphs.load(storage, new Path(path, MODEL_FILE).toString());
        GraftModelTransformer t = new GraftModelTransformer(meta.path("uid").asText(), net);
        meta.path("paramMap").fields().forEachRemaining(e -> {
          Param<Object> p = t.getParam(e.getKey());
          t.set(p, e.getValue().isInt() ? (Object) e.getValue().asInt() : e.getValue().asText());
        });
        return t;
      } catch (IOException e) {
        throw new UncheckedIOException("Cannot load Graft model stage from " + path, e);
      }
    }
  }
}

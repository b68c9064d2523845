package io.graft.diagnostics;

import io.graft.config.ConfigException;
import io.graft.engine.BroadcastNetwork;
import io.graft.spark.GraftDatasets;
import io.graft.surgery.Graphs;
import io.graft.surgery.Surgery;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What a diagnostic looks at: a dataset's raw inputs, or the activations of one layer of a model,
 * computed on the executors (the model is broadcast once) and returned as a Spark ML frame with a
 * {@code label} (double) and a {@code features} (vector) column.
 */
public final class LayerFeatures {
  public static final String RAW = "input";
  public static final StructType SCHEMA = new StructType(new StructField[] {
      new StructField("label", DataTypes.DoubleType, false, Metadata.empty()),
      new StructField("features", SQLDataTypes.VectorType(), false, Metadata.empty())});

  /**
   * A view: raw inputs ({@code network == null}) or layer {@code layerIndex}'s output (in a graph,
   * vertex {@code layerName}, {@code layerIndex} its place in topological order).
   *
   * @param layerName the layer's name, or {@link #RAW}
   */
  public record View(Model network, int layerIndex, String layerName) {
    public boolean raw() {
      return network == null;
    }

    public String describe(String model) {
      return raw() ? "raw inputs" : "layer '" + layerName + "' of " + model;
    }
  }

  private LayerFeatures() {}

  public static View raw() {
    return new View(null, -1, RAW);
  }

  /**
   * The view of {@code layer} in {@code network} ({@code null}: the last layer (a graph: the vertex)
   * below the output, or below a contrastive projection head;
   * {@code "input"}: the raw inputs), checked against the dataset's width.
   *
   * @throws ConfigException naming the layer (and listing the model's) or the mismatched widths
   */
  public static View of(Model network, String model, String layer, int numFeatures, String dataset, String purpose) {
    long inputs = network instanceof ComputationGraph g ? Graphs.inputSize(g) : Surgery.inputSize((MultiLayerNetwork) network);
    if (inputs > 0 && inputs != numFeatures) {
      throw new ConfigException("Cannot " + purpose + ": dataset " + dataset + " has " + numFeatures + " features but model " + model
          + " takes " + inputs + " inputs");
    }
    if (RAW.equals(layer)) {
      return raw();
    }
    if (network instanceof ComputationGraph g) {
      ComputationGraphConfiguration conf = g.getConfiguration();
      List<String> projection = Surgery.selfSupervisedHead(conf);
      String vertex = layer != null ? layer
          : conf.getVertexInputs().get(projection.isEmpty() ? conf.getNetworkOutputs().get(0) : projection.get(0)).get(0);
      if (!conf.getVertices().containsKey(vertex)) {
        throw new ConfigException("Cannot " + purpose + ": vertex '" + vertex + "' not found in model " + model + " (vertices: "
            + String.join(", ", conf.getTopologicalOrderStr()) + ")");
      }
      return new View(g, conf.getTopologicalOrderStr().indexOf(vertex), vertex);
    }
    MultiLayerNetwork mln = (MultiLayerNetwork) network;
    int index = layer == null ? mln.getnLayers() - 2 - Surgery.selfSupervisedHead(mln).size() : Surgery.indexOf(mln, layer, purpose);
    ConfigException.require(index >= 0, "Cannot %s: model %s has no layer below its output", purpose, model);
    return new View(network, index, Surgery.layerNames(mln).get(index));
  }

  /** {@code rows} (Graft columns {@code features}, {@code label}) as label + feature vectors of {@code view}. */
  public static Dataset<Row> extract(SparkSession spark, Dataset<Row> rows, View view) {
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    JavaRDD<Row> in = rows.select(GraftDatasets.FEATURES, GraftDatasets.LABEL).javaRDD();
    JavaRDD<Row> out;
    out = in.mapPartitions(view.raw() ? new Extract(null, -1, null)
        : new Extract(BroadcastNetwork.of(sc, view.network()), view.layerIndex(), view.layerName()));
    return spark.createDataFrame(out, SCHEMA);
  }

  /** Executor side: batches of 256 rows through the network up to the layer, flattened per row. */
  static final class Extract implements FlatMapFunction<Iterator<Row>, Row> {
    private static final int BATCH = 256;
    private final BroadcastNetwork shipped;
    private final int layer;
    private final String vertex;

    Extract(BroadcastNetwork shipped, int layer, String vertex) {
      this.shipped = shipped;
      this.layer = layer;
      this.vertex = vertex;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
      if (!rows.hasNext()) {
        return Collections.emptyIterator();
      }
      Model net = shipped == null ? null : shipped.model();
      List<Row> out = new ArrayList<>();
      List<float[]> features = new ArrayList<>();
      List<Integer> labels = new ArrayList<>();
      while (rows.hasNext()) {
        Row r = rows.next();
        List<Float> f = r.getList(0);
        float[] x = new float[f.size()];
        for (int j = 0; j < x.length; j++) {
          x[j] = f.get(j);
        }
        features.add(x);
        labels.add(r.getInt(1));
        if (features.size() == BATCH || !rows.hasNext()) {
          emit(net, features, labels, out);
          features.clear();
          labels.clear();
        }
      }
      return out.iterator();
    }

    private void emit(Model net, List<float[]> features, List<Integer> labels, List<Row> out) {
      int n = features.size();
      if (net == null) {
        for (int i = 0; i < n; i++) {
          out.add(RowFactory.create((double) labels.get(i), Vectors.dense(toDouble(features.get(i)))));
        }
        return;
      }
      INDArray x = GraftDatasets.stack(features);
      INDArray act = net instanceof ComputationGraph g ? g.feedForward(x, false).get(vertex)
          : ((MultiLayerNetwork) net).feedForwardToLayer(layer, x, false).get(layer + 1);
      INDArray rowsOut = act.reshape('c', n, act.length() / n);
      for (int i = 0; i < n; i++) {
        out.add(RowFactory.create((double) labels.get(i), Vectors.dense(rowsOut.getRow(i).toDoubleVector())));
      }
    }

    private static double[] toDouble(float[] f) {
      double[] d = new double[f.length];
      for (int i = 0; i < f.length; i++) {
        d[i] = f[i];
      }
      return d;
    }
  }
}

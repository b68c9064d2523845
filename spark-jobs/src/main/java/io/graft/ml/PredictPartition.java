package io.graft.ml;

import io.graft.engine.BroadcastNetwork;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Executor side: a network per partition, batches of rows forward, the input row plus the new columns out. */
final class PredictPartition implements FlatMapFunction<Iterator<Row>, Row> {
  private final BroadcastNetwork shipped;
  private final int column;
  private final int width;
  private final int embedding;
  private final String embeddingVertex;
  private final boolean probability;
  private final int batch;

  PredictPartition(BroadcastNetwork shipped, int column, int width, int embedding, String embeddingVertex, boolean probability, int batch) {
    this.shipped = shipped;
    this.column = column;
    this.width = width;
    this.embedding = embedding;
    this.embeddingVertex = embeddingVertex;
    this.probability = probability;
    this.batch = batch;
  }

  @Override
  public Iterator<Row> call(Iterator<Row> rows) {
    if (!rows.hasNext()) {
      return Collections.emptyIterator();
    }
    org.deeplearning4j.nn.api.Model net = shipped.model();
    List<Row> out = new ArrayList<>();
    List<Row> pending = new ArrayList<>();
    while (rows.hasNext()) {
      pending.add(rows.next());
      if (pending.size() == batch || !rows.hasNext()) {
        forward(net, pending, out);
        pending.clear();
      }
    }
    return out.iterator();
  }

  private void forward(org.deeplearning4j.nn.api.Model model, List<Row> rows, List<Row> out) {
    int n = rows.size();
    float[] x = new float[n * width];
    for (int i = 0; i < n; i++) {
      double[] f = features(rows.get(i));
      if (f.length != width) {
        throw new IllegalArgumentException("A row has " + f.length + " features; the model takes " + width);
      }
      for (int j = 0; j < width; j++) {
        x[i * width + j] = (float) f[j];
      }
    }
    INDArray input = Nd4j.create(x, new long[] {n, width}, 'c');
    INDArray probs;
    INDArray emb = null;
    if (model instanceof ComputationGraph g) {
      if (embedding >= 0) {
        Map<String, INDArray> acts = g.feedForward(input, false);
        probs = acts.get(g.getConfiguration().getNetworkOutputs().get(0));
        INDArray a = acts.get(embeddingVertex);
        emb = a.reshape('c', n, a.length() / n);
      } else {
        probs = g.outputSingle(false, input);
      }
    } else if (embedding >= 0) {
      List<INDArray> acts = ((MultiLayerNetwork) model).feedForward(input, false);
      probs = acts.get(acts.size() - 1);
      INDArray a = acts.get(embedding + 1);
      emb = a.reshape('c', n, a.length() / n);
    } else {
      probs = ((MultiLayerNetwork) model).output(input, false);
    }
    int extra = 1 + (probability ? 1 : 0) + (emb != null ? 1 : 0);
    for (int i = 0; i < n; i++) {
      Row r = rows.get(i);
      Object[] values = new Object[r.length() + extra];
      for (int j = 0; j < r.length(); j++) {
        values[j] = r.get(j);
      }
      INDArray p = probs.getRow(i);
      int k = r.length();
      values[k++] = (double) p.argMax().getInt(0);
      if (probability) {
        values[k++] = Vectors.dense(p.toDoubleVector());
      }
      if (emb != null) {
        values[k] = Vectors.dense(emb.getRow(i).toDoubleVector());
      }
      out.add(RowFactory.create(values));
    }
  }

  private double[] features(Row r) {
    Object v = r.get(column);
    if (v instanceof Vector vec) {
      return vec.toArray();
    }
    List<?> list = r.getList(column);
    double[] d = new double[list.size()];
    for (int i = 0; i < d.length; i++) {
      d[i] = ((Number) list.get(i)).doubleValue();
    }
    return d;
  }
}

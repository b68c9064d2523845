package io.graft.jobs.pretrain;

import io.graft.data.Augmentation;
import io.graft.engine.BroadcastNetwork;
import io.graft.selfsup.Corruption;
import io.graft.selfsup.NtXentLoss;
import io.graft.selfsup.Objective;
import io.graft.spark.GraftDatasets;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The minibatches a self-supervised objective trains on, built on the executors from unlabelled
 * feature rows, and their evaluation.
 *
 * <p>Contrastive: each minibatch holds {@code batchRows / 2} examples, each as two independently
 * augmented views at rows {@code 2k} and {@code 2k+1} (the pairing {@link NtXentLoss} expects);
 * the labels are a zero array of the projection's width, never read. Reconstruction: features are
 * the (augmented) example corrupted by {@link Corruption}, labels the clean (augmented) example.
 * Views and masks are drawn from a seed of (job seed, round, partition), so every round sees new
 * views and a rerun sees the same ones.
 */
final class SelfSupervisedData {
  private SelfSupervisedData() {}

  /** The feature rows as float arrays (what the per-round batch builder reads). */
  static JavaRDD<float[]> featureArrays(Dataset<Row> rows) {
    return rows.select(GraftDatasets.FEATURES).javaRDD().map(r -> {
      List<Float> f = r.getList(0);
      float[] x = new float[f.size()];
      for (int j = 0; j < x.length; j++) {
        x[j] = f.get(j);
      }
      return x;
    });
  }

  /** Settings the executor side needs; primitives and small records only. */
  record Spec(Objective.Kind kind, Augmentation augmentation, Corruption corruption, int[] shape, int batchRows, int labelWidth, long seed)
      implements Serializable {}

  /** Executor side: one partition's examples into training minibatches for one round. */
  static final class Batches implements FlatMapFunction<Iterator<float[]>, DataSet> {
    private final Spec spec;
    private final long roundSeed;

    Batches(Spec spec, int round) {
      this.spec = spec;
      this.roundSeed = spec.seed() * 1_000_003L + round;
    }

    @Override
    public Iterator<DataSet> call(Iterator<float[]> rows) {
      int partition = TaskContext.get() == null ? 0 : TaskContext.get().partitionId();
      Random rng = new Random(roundSeed * 31 + partition);
      boolean contrastive = spec.kind() == Objective.Kind.CONTRASTIVE;
      int examplesPerBatch = contrastive ? spec.batchRows() / 2 : spec.batchRows();
      List<DataSet> out = new ArrayList<>();
      List<float[]> chunk = new ArrayList<>(examplesPerBatch);
      while (rows.hasNext()) {
        chunk.add(rows.next());
        if (chunk.size() == examplesPerBatch || !rows.hasNext()) {
          if (!contrastive || chunk.size() >= 2) { // one example alone has no negatives
            out.add(contrastive ? views(chunk, rng) : corrupted(chunk, rng));
          }
          chunk.clear();
        }
      }
      return out.iterator();
    }

    DataSet views(List<float[]> examples, Random rng) {
      int f = examples.get(0).length;
      int n = examples.size();
      float[] x = new float[2 * n * f];
      for (int k = 0; k < n; k++) {
        System.arraycopy(augment(examples.get(k), rng), 0, x, 2 * k * f, f);
        System.arraycopy(augment(examples.get(k), rng), 0, x, (2 * k + 1) * f, f);
      }
      return new DataSet(Nd4j.create(x, new long[] {2L * n, f}, 'c'), Nd4j.zeros(DataType.FLOAT, 2L * n, spec.labelWidth()));
    }

    DataSet corrupted(List<float[]> examples, Random rng) {
      int f = examples.get(0).length;
      int n = examples.size();
      float[] in = new float[n * f];
      float[] target = new float[n * f];
      for (int k = 0; k < n; k++) {
        float[] clean = augment(examples.get(k), rng);
        System.arraycopy(clean, 0, target, k * f, f);
        System.arraycopy(spec.corruption().apply(clean, spec.shape(), rng), 0, in, k * f, f);
      }
      return new DataSet(Nd4j.create(in, new long[] {n, f}, 'c'), Nd4j.create(target, new long[] {n, f}, 'c'));
    }

    private float[] augment(float[] x, Random rng) {
      if (!spec.augmentation().enabled()) {
        return x;
      }
      int[] s = spec.shape();
      int c = s.length == 3 ? s[0] : 1;
      return spec.augmentation().apply(x, c, s[s.length - 2], s[s.length - 1], rng);
    }
  }

  /** What the held-out batches scored: mean loss and, for contrastive, the pair retrieval accuracy. */
  record Scores(double loss, long rows, double pairAccuracy) {}

  /**
   * Scores {@code network} on held-out batches: the objective's mean loss per row and, for the
   * contrastive objective, how often a view's nearest neighbour among the other rows of its
   * minibatch (cosine similarity of the projections) is its own other view.
   */
  static Scores evaluate(JavaSparkContext sc, Model network, JavaRDD<DataSet> batches, boolean contrastive) {
    BroadcastNetwork shipped = BroadcastNetwork.of(sc, network);
    try {
      double[] total = batches.mapPartitions(new Score(shipped, contrastive)).reduce((a, b) -> new double[] {a[0] + b[0], a[1] + b[1], a[2] + b[2]});
      return new Scores(total[0] / total[1], (long) total[1], contrastive ? total[2] / total[1] : Double.NaN);
    } finally {
      shipped.destroy();
    }
  }

  /** Executor side of {@link #evaluate}: [loss sum, rows, pair hits] of one partition. */
  static final class Score implements FlatMapFunction<Iterator<DataSet>, double[]> {
    private final BroadcastNetwork shipped;
    private final boolean contrastive;

    Score(BroadcastNetwork shipped, boolean contrastive) {
      this.shipped = shipped;
      this.contrastive = contrastive;
    }

    @Override
    public Iterator<double[]> call(Iterator<DataSet> batches) {
      if (!batches.hasNext()) {
        return Collections.emptyIterator();
      }
      Model model = shipped.model();
      double loss = 0;
      double rows = 0;
      double hits = 0;
      while (batches.hasNext()) {
        DataSet ds = batches.next();
        long n = ds.numExamples();
        rows += n;
        if (model instanceof ComputationGraph graph) {
          loss += graph.score(ds, false) * n;
          if (contrastive) {
            hits += pairHits(graph.outputSingle(false, ds.getFeatures()));
          }
        } else {
          MultiLayerNetwork net = (MultiLayerNetwork) model;
          loss += net.score(ds, false) * n;
          if (contrastive) {
            hits += pairHits(net.output(ds.getFeatures(), false));
          }
        }
      }
      return List.of(new double[] {loss, rows, hits}).iterator();
    }
  }

  /** Rows whose most similar other row (cosine) is their pair. */
  static int pairHits(INDArray projections) {
    long m = projections.size(0);
    INDArray z = projections.divColumnVector(Transforms.max(projections.norm2(1), 1e-8).reshape(m, 1));
    INDArray sim = z.mmul(z.transpose());
    int hits = 0;
    for (int i = 0; i < m; i++) {
      sim.putScalar(i, i, Double.NEGATIVE_INFINITY);
      hits += sim.getRow(i).argMax().getInt(0) == NtXentLoss.positiveOf(i) ? 1 : 0;
    }
    return hits;
  }

  /** The figures a self-supervised round adds to {@code metrics.jsonl}. */
  static Map<String, Double> extra(Scores scores, double probeAccuracy) {
    Map<String, Double> m = new LinkedHashMap<>();
    if (!Double.isNaN(scores.pairAccuracy())) {
      m.put("pair_accuracy", scores.pairAccuracy());
    }
    if (!Double.isNaN(probeAccuracy)) {
      m.put("probe_accuracy", probeAccuracy);
    }
    return m;
  }
}

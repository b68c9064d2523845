package io.graft.spark;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.api.java.function.FlatMapFunction2;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Rows of several datasets (tasks or domains) in compact form, and the minibatches the shared-trunk
 * stages train on. A graph with K heads takes minibatches with K label arrays; a row belongs to
 * one head, and its label mask is 1 there and 0 in every other head, so a row contributes nothing
 * to the losses of heads it has no label for. Unlabelled rows (label -1)
 * have mask 0 in the label head.
 */
public final class TaskRows {
  private TaskRows() {}

  /** One example: which task or domain it comes from, its label (-1: none) and its features. */
  public record TaskRow(int task, int label, float[] features) implements Serializable {}

  /** A dataset's rows (features, label) tagged with {@code task}. */
  public static JavaRDD<TaskRow> of(Dataset<Row> rows, int task) {
    return rows.select(GraftDatasets.FEATURES, GraftDatasets.LABEL).javaRDD().map(r -> {
      List<Float> f = r.getList(0);
      float[] x = new float[f.size()];
      for (int i = 0; i < x.length; i++) {
        x[i] = f.get(i);
      }
      return new TaskRow(task, r.getInt(1), x);
    });
  }

  /**
   * Domain-adversarial minibatches: each has {@code batchSize / 2} source rows and as many target
   * rows (the target cycles when it is the smaller side). Outputs: 0 the label head (source rows
   * labelled, target rows masked out), 1 the domain head (source 0, target 1).
   */
  public static JavaRDD<MultiDataSet> adversarialBatches(JavaRDD<TaskRow> source, JavaRDD<TaskRow> target, int batchSize, int numClasses,
      long seed) {
    return source.zipPartitions(target, new AdversarialBatches(batchSize, numClasses, seed));
  }

  /** Held-out minibatches of one domain: every labelled row scored by the label head, its domain by the domain head. */
  public static JavaRDD<MultiDataSet> domainEvalBatches(JavaRDD<TaskRow> rows, int domain, int numClasses) {
    return rows.mapPartitions(new EvalBatches(256, new int[] {numClasses, 2}, domain));
  }

  /**
   * Multi-task minibatches. Each slot of a batch draws its task from {@code sampling} (renormalised
   * over the tasks present in the partition) and takes that task's next row in a shuffled cycle.
   * Output {@code t} is task t's head; the row's mask is 1 there and 0 in the other heads (task
   * loss weights are set on the heads' loss functions, see {@link io.graft.engine.SyncAveraging.Knobs}).
   */
  public static JavaRDD<MultiDataSet> taskBatches(JavaRDD<TaskRow> rows, int batchSize, int[] numClasses, double[] sampling, long seed) {
    return rows.mapPartitions(new TaskBatches(batchSize, numClasses, sampling, seed));
  }

  /** Held-out minibatches of one task, for {@link io.graft.engine.GraphEvaluator}: mask 1 on the task's head only. */
  public static JavaRDD<MultiDataSet> taskEvalBatches(JavaRDD<TaskRow> rows, int[] numClasses) {
    return rows.mapPartitions(new EvalBatches(256, numClasses, -1));
  }

  static int featureCount(List<TaskRow> rows) {
    return rows.isEmpty() ? 0 : rows.get(0).features().length;
  }

  /**
   * Builds one minibatch: features, one label array per head, one 0/1 mask per head.
   *
   * @param headOf each row's head, -1 for none (an unlabelled target row)
   * @param domainHead the domain classifier's output index, -1 for none
   * @param domainOf each row's domain label when there is a domain head
   */
  public static MultiDataSet batch(List<TaskRow> rows, int[] heads, int[] headOf, int domainHead, int[] domainOf) {
    int n = rows.size();
    int f = featureCount(rows);
    float[] x = new float[n * f];
    for (int i = 0; i < n; i++) {
      System.arraycopy(rows.get(i).features(), 0, x, i * f, f);
    }
    INDArray features = Nd4j.create(x, new long[] {n, f}, 'c');
    INDArray[] labels = new INDArray[heads.length];
    INDArray[] masks = new INDArray[heads.length];
    for (int h = 0; h < heads.length; h++) {
      labels[h] = Nd4j.zeros(DataType.FLOAT, n, heads[h]);
      masks[h] = Nd4j.zeros(DataType.FLOAT, n, 1);
    }
    for (int i = 0; i < n; i++) {
      TaskRow r = rows.get(i);
      int h = headOf[i];
      if (h >= 0 && r.label() >= 0) {
        labels[h].putScalar(i, r.label(), 1f);
        masks[h].putScalar(i, 0, 1f);
      }
      if (domainHead >= 0) {
        labels[domainHead].putScalar(i, domainOf[i], 1f);
        masks[domainHead].putScalar(i, 0, 1f);
      }
    }
    return new org.nd4j.linalg.dataset.MultiDataSet(new INDArray[] {features}, labels, null, masks);
  }

  public static final class AdversarialBatches implements FlatMapFunction2<Iterator<TaskRow>, Iterator<TaskRow>, MultiDataSet> {
    private final int batchSize;
    private final int numClasses;
    private final long seed;

    public AdversarialBatches(int batchSize, int numClasses, long seed) {
      this.batchSize = batchSize;
      this.numClasses = numClasses;
      this.seed = seed;
    }

    @Override
    public Iterator<MultiDataSet> call(Iterator<TaskRow> sourceRows, Iterator<TaskRow> targetRows) {
      Random rng = new Random(seed * 7919 + TaskContext.getPartitionId());
      List<TaskRow> source = new ArrayList<>();
      sourceRows.forEachRemaining(source::add);
      List<TaskRow> target = new ArrayList<>();
      targetRows.forEachRemaining(target::add);
      List<MultiDataSet> out = new ArrayList<>();
      if (source.isEmpty() || target.isEmpty()) {
        return out.iterator();
      }
      Collections.shuffle(source, rng);
      Collections.shuffle(target, rng);
      int half = Math.max(1, batchSize / 2);
      int t = 0;
      int[] heads = {numClasses, 2};
      for (int s = 0; s < source.size(); s += half) {
        List<TaskRow> rows = new ArrayList<>(source.subList(s, Math.min(source.size(), s + half)));
        int fromSource = rows.size();
        for (int k = 0; k < fromSource; k++) {
          if (t == target.size()) {
            Collections.shuffle(target, rng);
            t = 0;
          }
          rows.add(target.get(t++));
        }
        int[] headOf = new int[rows.size()];
        int[] domainOf = new int[rows.size()];
        for (int i = 0; i < rows.size(); i++) {
          boolean isSource = i < fromSource;
          headOf[i] = isSource ? 0 : -1; // target labels, if any, never reach the loss
          domainOf[i] = isSource ? 0 : 1;
        }
        out.add(batch(rows, heads, headOf, 1, domainOf));
      }
      return out.iterator();
    }
  }

  static final class TaskBatches implements FlatMapFunction<Iterator<TaskRow>, MultiDataSet> {
    private final int batchSize;
    private final int[] numClasses;
    private final double[] sampling;
    private final long seed;

    TaskBatches(int batchSize, int[] numClasses, double[] sampling, long seed) {
      this.batchSize = batchSize;
      this.numClasses = numClasses;
      this.sampling = sampling;
      this.seed = seed;
    }

    @Override
    public Iterator<MultiDataSet> call(Iterator<TaskRow> it) {
      Random rng = new Random(seed * 7919 + TaskContext.getPartitionId());
      int k = numClasses.length;
      List<List<TaskRow>> byTask = new ArrayList<>();
      for (int i = 0; i < k; i++) {
        byTask.add(new ArrayList<>());
      }
      int total = 0;
      while (it.hasNext()) {
        TaskRow r = it.next();
        byTask.get(r.task()).add(r);
        total++;
      }
      double[] p = new double[k];
      double sum = 0;
      for (int i = 0; i < k; i++) {
        Collections.shuffle(byTask.get(i), rng);
        p[i] = byTask.get(i).isEmpty() ? 0 : sampling[i];
        sum += p[i];
      }
      List<MultiDataSet> out = new ArrayList<>();
      if (total == 0) {
        return out.iterator();
      }
      int[] next = new int[k];
      for (int b = 0; b < total; b += batchSize) {
        int n = Math.min(batchSize, total - b);
        List<TaskRow> rows = new ArrayList<>(n);
        int[] headOf = new int[n];
        for (int i = 0; i < n; i++) {
          double u = rng.nextDouble() * sum;
          int task = 0;
          while (task < k - 1 && (p[task] == 0 || u >= p[task])) {
            u -= p[task];
            task++;
          }
          while (p[task] == 0) {
            task--; // rounding at the top end: fall back to the last task present
          }
          List<TaskRow> pool = byTask.get(task);
          if (next[task] == pool.size()) {
            Collections.shuffle(pool, rng);
            next[task] = 0;
          }
          rows.add(pool.get(next[task]++));
          headOf[i] = task;
        }
        out.add(batch(rows, numClasses, headOf, -1, null));
      }
      return out.iterator();
    }
  }

  static final class EvalBatches implements FlatMapFunction<Iterator<TaskRow>, MultiDataSet> {
    private final int batchSize;
    private final int[] heads;
    private final int domain;

    /** @param domain the domain index for a two-head adversarial graph, or -1 for task batches */
    EvalBatches(int batchSize, int[] heads, int domain) {
      this.batchSize = batchSize;
      this.heads = heads;
      this.domain = domain;
    }

    @Override
    public Iterator<MultiDataSet> call(Iterator<TaskRow> it) {
      List<MultiDataSet> out = new ArrayList<>();
      List<TaskRow> rows = new ArrayList<>();
      while (it.hasNext()) {
        rows.add(it.next());
        if (rows.size() == batchSize || !it.hasNext()) {
          int n = rows.size();
          int[] headOf = new int[n];
          int[] domainOf = new int[n];
          for (int i = 0; i < n; i++) {
            headOf[i] = domain >= 0 ? 0 : rows.get(i).task();
            domainOf[i] = domain;
          }
          out.add(batch(rows, heads, headOf, domain >= 0 ? 1 : -1, domainOf));
          rows = new ArrayList<>();
        }
      }
      return out.iterator();
    }
  }
}

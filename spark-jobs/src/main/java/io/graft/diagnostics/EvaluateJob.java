package io.graft.diagnostics;

import io.graft.config.ConfigException;
import io.graft.data.BadRecordPolicy;
import io.graft.data.Manifest;
import io.graft.engine.DistributedEvaluator;
import io.graft.jobs.Job;
import io.graft.jobs.JobMain;
import io.graft.jobs.JobResult;
import io.graft.spark.GraftDatasets;
import io.graft.spark.GraftSpark;
import io.graft.store.Storage;
import io.graft.surgery.Graphs;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.evaluation.classification.Evaluation;

/**
 * {@code graft evaluate}: scores a model on a labelled dataset on Spark: accuracy, loss,
 * per-class precision / recall / F1 and the confusion matrix (rows: actual, columns: predicted).
 */
public final class EvaluateJob {
  private EvaluateJob() {}

  /** {@code graft evaluate}: the dataset, the model and their widths checked before Spark starts. */
  public static final Job<Request> JOB = Job.withArgs("evaluate", EvaluateArgs::new,
      (request, env, resume) -> validate(request, env.storage()), (request, context) -> run(request, context.spark()));

  /** Entry point for {@code spark-submit --class io.graft.diagnostics.EvaluateJob}: the options of {@code graft evaluate}. */
  public static void main(String[] args) {
    System.exit(JobMain.run(JOB, args));
  }

  public record Request(String model, String data, String out, BadRecordPolicy onBadRecord) {
    public Request {
      ConfigException.require(model != null && !model.isBlank(), "MODEL is required");
      ConfigException.require(data != null && !data.isBlank(), "--data is required");
      onBadRecord = onBadRecord == null ? BadRecordPolicy.FAIL : onBadRecord;
    }
  }

  /** One class's figures. */
  public record ClassMetrics(int label, String name, double precision, double recall, double f1, long support) {}

  /** Written to JSON. */
  public record Output(String kind, String model, String data, long rows, double accuracy, double loss, double macroF1,
      List<ClassMetrics> classes, long[][] confusion, Map<String, Object> versions) implements JobResult {
    @Override
    public List<String> lines() {
      List<String> lines = new ArrayList<>();
      lines.add(String.format("accuracy=%.4f loss=%.4f macro_f1=%.4f rows=%d", accuracy, loss, macroF1, rows));
      lines.add(String.format("%-16s %9s %9s %9s %8s", "class", "precision", "recall", "f1", "support"));
      for (ClassMetrics c : classes) {
        lines.add(String.format("%-16s %9.4f %9.4f %9.4f %8d", c.name(), c.precision(), c.recall(), c.f1(), c.support()));
      }
      lines.add("confusion matrix (rows: actual, columns: predicted):");
      for (long[] row : confusion) {
        StringBuilder line = new StringBuilder();
        for (long v : row) {
          line.append(String.format("%6d", v));
        }
        lines.add(line.toString());
      }
      return lines;
    }
  }

  record Plan(Model network, Manifest manifest, int numClasses) {}

  static Plan plan(Request r, Storage storage) {
    Manifest m = GraftDatasets.manifest(storage, r.data(), "evaluation");
    Model net = Graphs.load(storage, r.model());
    if (net instanceof ComputationGraph graph) {
      long width = Graphs.inputSize(graph);
      ConfigException.require(width < 0 || width == m.numFeatures(), "Cannot evaluate: dataset %s has %s features but model %s takes %s",
          r.data(), m.numFeatures(), r.model(), width);
    } else {
      LayerFeatures.of((MultiLayerNetwork) net, r.model(), LayerFeatures.RAW, m.numFeatures(), r.data(), "evaluate");
    }
    int classes = Graphs.numClasses(net);
    ConfigException.require(m.numClasses() <= classes, "Cannot evaluate: dataset %s has %s classes but model %s predicts %s", r.data(),
        m.numClasses(), r.model(), classes);
    return new Plan(net, m, classes);
  }

  public static void validate(Request r, Storage storage) {
    plan(r, storage);
  }

  public static Output run(Request r, SparkSession spark) throws IOException {
    Storage storage = new Storage(spark.sparkContext().hadoopConfiguration());
    Plan plan = plan(r, storage);
    GraftSpark.jobGroup(spark, "graft-evaluate", "evaluate " + r.model());
    GraftDatasets.Checked rows = GraftDatasets.check(GraftDatasets.read(spark, storage, r.data(), "evaluation"), plan.manifest().numFeatures(),
        plan.numClasses(), true, r.onBadRecord());
    DistributedEvaluator.Result result = DistributedEvaluator.evaluate(JavaSparkContext.fromSparkContext(spark.sparkContext()),
        plan.network(), GraftDatasets.miniBatches(rows.rows(), 256, plan.manifest().numFeatures(), plan.numClasses()));
    Evaluation e = result.evaluation();
    List<String> names = plan.manifest().classNames();
    List<ClassMetrics> classes = new ArrayList<>();
    long[][] confusion = new long[plan.numClasses()][plan.numClasses()];
    double f1Sum = 0;
    int present = 0;
    for (int c = 0; c < plan.numClasses(); c++) {
      long support = 0;
      for (int p = 0; p < plan.numClasses(); p++) {
        confusion[c][p] = e.getConfusionMatrix().getCount(c, p);
        support += confusion[c][p];
      }
      double f1 = e.f1(c);
      classes.add(new ClassMetrics(c, names != null && c < names.size() ? names.get(c) : String.valueOf(c), e.precision(c), e.recall(c), f1,
          support));
      if (support > 0) {
        f1Sum += f1;
        present++;
      }
    }
    Map<String, Object> versions = DivergenceJob.versions();
    Output out = new Output("evaluation", r.model(), r.data(), result.count(), result.accuracy(), result.loss(),
        present == 0 ? 0 : f1Sum / present, classes, confusion, versions);
    if (r.out() != null) {
      storage.writeString(storage.path(r.out()), DivergenceJob.JSON.writeValueAsString(out));
    }
    return out;
  }
}

package io.graft.diagnostics;

import static org.apache.spark.sql.functions.col;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import io.graft.config.ConfigException;
import io.graft.data.Manifest;
import io.graft.jobs.Job;
import io.graft.jobs.JobMain;
import io.graft.jobs.JobResult;
import io.graft.spark.GraftDatasets;
import io.graft.spark.GraftSpark;
import io.graft.store.Storage;
import io.graft.surgery.GraphSurgery;
import io.graft.surgery.Graphs;
import io.graft.surgery.Surgery;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.spark.ml.classification.LogisticRegression;
import org.apache.spark.ml.classification.LogisticRegressionModel;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;

/**
 * {@code graft probe}: layer-wise transferability. A linear probe (multinomial logistic
 * regression, Spark ML) is trained on each layer's frozen outputs for a few labelled target rows
 * and scored on the target's test rows; the raw inputs are probed too, as the floor.
 *
 * <p>The recommendation reads the curve the way a practitioner would: layers whose probe is
 * within {@code tolerance} of the best are general enough to keep frozen, so the freeze depth is
 * the deepest such layer and everything above it is fine-tuned. The further the top layer falls
 * below the best, the more source-specific the top is and the larger alpha (the less the lower
 * trainable layers are held back): alpha = clamp(0.1 + 0.04 * gap in points, 0.1, 0.5). When no
 * layer beats the raw inputs by more than the tolerance, the features carry nothing the target
 * can use: train everything and compare with scratch.
 */
public final class ProbeJob {
  static final ObjectMapper JSON = DivergenceJob.JSON;

  private ProbeJob() {}

  /** {@code graft probe}: the datasets, the model and its layers checked before Spark starts. */
  public static final Job<Request> JOB = Job.withArgs("probe", ProbeArgs::new, (request, env, resume) -> validate(request, env.storage()),
      (request, context) -> {
        Output output = run(request, context.spark(), context.log());
        if (request.writeConfig() != null) {
          context.log().accept("fine-tune config written to " + request.writeConfig());
        }
        return output;
      });

  /** Entry point for {@code spark-submit --class io.graft.diagnostics.ProbeJob}: the options of {@code graft probe}. */
  public static void main(String[] args) {
    System.exit(JobMain.run(JOB, args));
  }

  /**
   * @param test the target's test set, or null to hold out 30 % of {@code labelsPerClass} rows
   * @param layers layer names to probe (empty: every layer below the output)
   * @param tolerance accuracy (fraction) within which a layer counts as "as good as the best"
   * @param writeConfig a fine-tune YAML to write from the recommendation, or null
   */
  public record Request(String model, String train, String test, int labelsPerClass, long maxTestRows, List<String> layers,
      double tolerance, double[] grid, int maxIter, long seed, String out, String writeConfig) {
    public Request {
      ConfigException.require(model != null && !model.isBlank(), "--model is required");
      ConfigException.require(train != null && !train.isBlank(), "--target is required");
      ConfigException.require(labelsPerClass >= 2, "--labels-per-class must be at least 2, cannot be: %s", labelsPerClass);
      ConfigException.require(maxTestRows >= 10, "--max-test-rows must be at least 10, cannot be: %s", maxTestRows);
      ConfigException.require(tolerance >= 0 && tolerance < 1, "--tolerance must be in [0, 1), cannot be: %s", tolerance);
      ConfigException.require(grid != null && grid.length > 0, "the regularisation grid needs at least one value");
      layers = layers == null ? List.of() : List.copyOf(layers);
    }
  }

  /** One probed layer. */
  public record LayerProbe(String layer, int index, long width, double accuracy, double regParam, double seconds) {}

  /** The recommendation and why. */
  public record Recommendation(String freezeThrough, int frozenLayers, String trainFrom, double alpha, String strategy, List<String> reasoning) {}

  /** Written to JSON. */
  public record Output(String kind, String model, String target, String test, int labelsPerClass, long trainRows, long testRows,
      List<LayerProbe> layers, Recommendation recommendation, Map<String, Object> versions) implements JobResult {
    @Override
    public List<String> lines() {
      List<String> lines = new ArrayList<>();
      lines.add(String.format("%-12s %8s %9s", "layer", "width", "accuracy"));
      for (LayerProbe p : layers) {
        lines.add(String.format("%-12s %8d %8.2f%%", p.layer(), p.width(), 100 * p.accuracy()));
      }
      Recommendation rec = recommendation;
      lines.add(String.format("recommendation: %s; freeze through %s (%d layers), train from %s, alpha %.2f", rec.strategy(),
          rec.freezeThrough() == null ? "nothing" : "'" + rec.freezeThrough() + "'", rec.frozenLayers(), rec.trainFrom(), rec.alpha()));
      rec.reasoning().forEach(line -> lines.add("  - " + line));
      return lines;
    }
  }

  record Plan(Manifest train, Manifest test, Model network, List<LayerFeatures.View> views) {}

  static Plan plan(Request r, Storage storage) {
    Manifest train = GraftDatasets.manifest(storage, r.train(), "target");
    Manifest test = r.test() == null ? null : GraftDatasets.manifest(storage, r.test(), "target test");
    ConfigException.require(test == null || test.numFeatures() == train.numFeatures(),
        "Cannot probe: target test %s has %s features but target %s has %s", r.test(), test == null ? 0 : test.numFeatures(), r.train(),
        train.numFeatures());
    Model net = Graphs.load(storage, r.model());
    List<LayerFeatures.View> views = new ArrayList<>();
    views.add(LayerFeatures.of(net, r.model(), LayerFeatures.RAW, train.numFeatures(), r.train(), "probe"));
    List<String> wanted = !r.layers().isEmpty() ? r.layers() : net instanceof ComputationGraph g ? groupOutputs(g)
        : Surgery.layerNames((MultiLayerNetwork) net).subList(0, Surgery.layerNames((MultiLayerNetwork) net).size() - 1);
    for (String layer : wanted) {
      views.add(LayerFeatures.of(net, r.model(), layer, train.numFeatures(), r.train(), "probe"));
    }
    return new Plan(train, test, net, views);
  }

  /**
   * The vertices a graph is probed at by default: each parameter group's last vertex in topological
   * order (a residual stage's output, whatever its type), the output layer's group left out.
   */
  static List<String> groupOutputs(ComputationGraph g) {
    List<String> order = g.getConfiguration().getTopologicalOrderStr();
    String output = g.getConfiguration().getNetworkOutputs().get(0);
    List<String> out = new ArrayList<>();
    for (String group : GraphSurgery.groups(g, GraphSurgery.Grouping.STAGES).keySet()) {
      String last = null;
      for (String v : order) {
        if (v.equals(group) || v.startsWith(group + ".")) {
          last = v;
        }
      }
      if (last != null && !last.equals(output)) {
        out.add(last);
      }
    }
    return out;
  }

  public static void validate(Request r, Storage storage) {
    plan(r, storage);
  }

  public static Output run(Request r, SparkSession spark, Consumer<String> log) throws IOException {
    Storage storage = new Storage(spark.sparkContext().hadoopConfiguration());
    Plan plan = plan(r, storage);
    GraftSpark.jobGroup(spark, "graft-probe", "probe: sampling target rows");
    Dataset<Row> all = GraftDatasets.read(spark, storage, r.train(), "target").rows().filter(col(GraftDatasets.LABEL).geq(0));
    Dataset<Row> labelled = GraftDatasets.stratified(all, r.labelsPerClass(), r.seed());
    Dataset<Row> train;
    Dataset<Row> test;
    if (r.test() == null) {
      Dataset<Row>[] split = labelled.randomSplit(new double[] {0.7, 0.3}, r.seed());
      train = split[0];
      test = split[1];
    } else {
      train = labelled;
      test = GraftDatasets.capped(GraftDatasets.read(spark, storage, r.test(), "target test").rows().filter(col(GraftDatasets.LABEL).geq(0)),
          r.maxTestRows(), r.seed());
    }
    // A probe's rows are few: one partition per core, not the shuffle's many, keeps each LBFGS iteration's job cheap.
    int parallelism = spark.sparkContext().defaultParallelism();
    train = train.coalesce(parallelism).persist(StorageLevel.MEMORY_AND_DISK());
    test = test.coalesce(parallelism).persist(StorageLevel.MEMORY_AND_DISK());
    long trainRows = train.count();
    long testRows = test.count();
    ConfigException.require(trainRows >= 10 && testRows >= 5, "Too few target rows to probe: %s train, %s test", trainRows, testRows);
    List<LayerProbe> probes = new ArrayList<>();
    try {
      for (LayerFeatures.View view : plan.views()) {
        long t0 = System.nanoTime();
        GraftSpark.jobGroup(spark, "graft-probe", "probe: " + view.layerName());
        Dataset<Row> tr = LayerFeatures.extract(spark, train, view).persist(StorageLevel.MEMORY_AND_DISK());
        Dataset<Row> te = LayerFeatures.extract(spark, test, view).persist(StorageLevel.MEMORY_AND_DISK());
        try {
          LayerProbe p = probe(tr, te, view, r, t0);
          probes.add(p);
          log.accept(String.format("probe %-10s width %6d  accuracy %.2f%%  (regParam %g)", view.layerName(), p.width(), 100 * p.accuracy(),
              p.regParam()));
        } finally {
          tr.unpersist(false);
          te.unpersist(false);
        }
      }
    } finally {
      train.unpersist(false);
      test.unpersist(false);
    }
    Recommendation rec = recommend(probes, plan.network(), r.tolerance());
    Map<String, Object> versions = DivergenceJob.versions();
    Output out = new Output("probe", r.model(), r.train(), r.test(), r.labelsPerClass(), trainRows, testRows, probes, rec, versions);
    if (r.out() != null) {
      storage.writeString(storage.path(r.out()), JSON.writeValueAsString(out));
    }
    if (r.writeConfig() != null) {
      storage.writeString(storage.path(r.writeConfig()), finetuneYaml(r, rec));
    }
    return out;
  }

  /**
   * One probe: the regularisation is chosen on a 25 % split of the training rows, then the probe
   * is refit on all of them and scored on the test rows.
   */
  static LayerProbe probe(Dataset<Row> train, Dataset<Row> test, LayerFeatures.View view, Request r, long startedNanos) {
    long width = ((Vector) train.first().getAs("features")).size();
    double reg = r.grid()[0];
    if (r.grid().length > 1) {
      Dataset<Row>[] split = train.randomSplit(new double[] {0.75, 0.25}, r.seed() + 7);
      double bestErr = Double.MAX_VALUE;
      for (double g : r.grid()) {
        double err = ProxyADistance.error(fit(split[0], g, r.maxIter()).transform(split[1]));
        if (err < bestErr) {
          bestErr = err;
          reg = g;
        }
      }
    }
    double accuracy = 1 - ProxyADistance.error(fit(train, reg, r.maxIter()).transform(test));
    return new LayerProbe(view.layerName(), view.layerIndex(), width, accuracy, reg, (System.nanoTime() - startedNanos) / 1e9);
  }

  /** Test accuracy of a multinomial logistic regression fitted on {@code train} (label + features frames of {@link LayerFeatures}). */
  public static double accuracy(Dataset<Row> train, Dataset<Row> test, double regParam, int maxIter) {
    return 1 - ProxyADistance.error(fit(train, regParam, maxIter).transform(test));
  }

  private static LogisticRegressionModel fit(Dataset<Row> rows, double reg, int maxIter) {
    return new LogisticRegression().setFamily("multinomial").setRegParam(reg).setElasticNetParam(0).setMaxIter(maxIter).fit(rows);
  }

  /** The freeze depth and alpha the probe curve suggests (see the class comment), with its reasoning. */
  static Recommendation recommend(List<LayerProbe> probes, Model model, double tolerance) {
    LayerProbe raw = probes.get(0);
    List<LayerProbe> layers = probes.subList(1, probes.size());
    ConfigException.require(!layers.isEmpty(), "Cannot recommend: no layer was probed");
    LayerProbe best = layers.stream().max(Comparator.comparingDouble(LayerProbe::accuracy)).orElseThrow();
    LayerProbe top = layers.get(layers.size() - 1);
    List<String> why = new ArrayList<>();
    why.add(String.format("raw inputs: %.2f%%; best layer '%s': %.2f%%; top probed layer '%s': %.2f%%", 100 * raw.accuracy(), best.layer(),
        100 * best.accuracy(), top.layer(), 100 * top.accuracy()));
    if (best.accuracy() <= raw.accuracy() + tolerance) {
      why.add(String.format("no layer beats the raw inputs by more than %.1f points: the pretrained features carry little the target can "
          + "use linearly, so train every layer (uniform rate) and compare with a scratch baseline; transfer may be neutral or negative",
          100 * tolerance));
      return new Recommendation(null, 0, "all", 1.0, "full", why);
    }
    LayerProbe freeze = best;
    for (LayerProbe p : layers) {
      if (p.accuracy() >= best.accuracy() - tolerance && p.index() > freeze.index()) {
        freeze = p;
      }
    }
    why.add(String.format("layers up to '%s' are within %.1f points of the best probe: general enough to keep frozen", freeze.layer(),
        100 * tolerance));
    double gap = Math.max(0, best.accuracy() - top.accuracy());
    double alpha = Math.round(Math.min(0.5, Math.max(0.1, 0.1 + 0.04 * 100 * gap)) * 100) / 100.0;
    if (model instanceof ComputationGraph) {
      int at = layers.indexOf(freeze);
      if (at == layers.size() - 1) {
        why.add("the top group's features are as good as any: feature extraction (train the new head only) is the place to start");
        return new Recommendation(freeze.layer(), at + 1, "head", alpha, "feature-extraction", why);
      }
      String next = layers.get(at + 1).layer();
      String from = next.contains(".") ? next.substring(0, next.indexOf('.')) : next;
      why.add(String.format("the probe falls %.1f points from '%s' to '%s': the groups from '%s' up are source-specific, fine-tune them",
          100 * gap, best.layer(), top.layer(), from));
      why.add(String.format("alpha = clamp(0.1 + 0.04 x %.1f, 0.1, 0.5) = %.2f: the larger the fall, the less the lower trainable groups "
          + "are held back", 100 * gap, alpha));
      return new Recommendation(freeze.layer(), at + 1, from, alpha, "discriminative from " + from, why);
    }
    MultiLayerNetwork net = (MultiLayerNetwork) model;
    List<Integer> groups = Surgery.parameterLayers(net);
    int outputIndex = net.getnLayers() - 1;
    int from = outputIndex;
    for (int g : groups) {
      if (g > freeze.index()) {
        from = g;
        break;
      }
    }
    List<String> names = Surgery.layerNames(net);
    if (from == outputIndex) {
      why.add("the top layer's features are as good as any: feature extraction (train the new head only) is the place to start; "
          + "a second stage over all layers at a low rate may add a little");
      return new Recommendation(freeze.layer(), freeze.index() + 1, "head", alpha, "feature-extraction", why);
    }
    why.add(String.format("the probe falls %.1f points from '%s' to '%s': the layers above '%s' are source-specific, fine-tune them from "
        + "'%s'", 100 * gap, best.layer(), top.layer(), freeze.layer(), names.get(from)));
    why.add(String.format("alpha = clamp(0.1 + 0.04 x %.1f, 0.1, 0.5) = %.2f: the larger the fall, the less the lower trainable layers "
        + "are held back", 100 * gap, alpha));
    return new Recommendation(freeze.layer(), freeze.index() + 1, names.get(from), alpha, "discriminative from " + names.get(from), why);
  }

  /** A fine-tune config carrying the recommendation: a head stage, then (if any) a discriminative stage from the recommended layer. */
  static String finetuneYaml(Request r, Recommendation rec) throws IOException {
    Map<String, Object> cfg = new LinkedHashMap<>();
    cfg.put("source", r.model());
    Map<String, Object> data = new LinkedHashMap<>();
    data.put("train", r.train());
    data.put("test", r.test() == null ? r.train() : r.test());
    data.put("labelsPerClass", r.labelsPerClass());
    cfg.put("data", data);
    List<Map<String, Object>> stages = new ArrayList<>();
    Map<String, Object> head = new LinkedHashMap<>();
    head.put("name", "head");
    head.put("trainFrom", "head");
    head.put("epochs", rec.trainFrom().equals("head") ? 10 : 2);
    stages.add(head);
    if (!rec.trainFrom().equals("head")) {
      Map<String, Object> tune = new LinkedHashMap<>();
      tune.put("name", "tune");
      tune.put("trainFrom", rec.trainFrom());
      tune.put("epochs", 8);
      tune.put("alpha", rec.alpha());
      stages.add(tune);
    }
    cfg.put("stages", stages);
    String base = r.model().replaceAll("/+$", "").replaceAll("\\.zip$", "");
    cfg.put("output", base + "-probed-finetune");
    StringBuilder header = new StringBuilder("# Written by graft probe from " + r.model() + " on " + r.train() + "\n");
    for (String line : rec.reasoning()) {
      header.append("# ").append(line).append('\n');
    }
    if (r.test() == null) {
      header.append("# data.test points at the training set: set it to the target's real test set\n");
    }
    ObjectMapper yaml = new ObjectMapper(new YAMLFactory().disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER));
    return header + yaml.writeValueAsString(cfg);
  }
}

package io.graft.jobs.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.graft.data.Example;
import io.graft.data.IdxReader;
import io.graft.pipeline.PipelinePlan;
import io.graft.pipeline.PipelineSpec;
import io.graft.pipeline.StageType;
import io.graft.pipeline.runner.PipelineRunner;
import io.graft.stats.Verdict;
import io.graft.store.Storage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@code graft demo}: the demo pipeline ({@code deploy/pipelines/demo.yaml}, shipped in the jar)
 * on the embedded default. Fetch, import, pre-train LeNet on MNIST; fine-tune it against training
 * from scratch on two targets, each with a verdict over seeds: UCI digits with 10 labels per class
 * (where transfer helps) and Fashion-MNIST with 100 (where it does not); DANN from MNIST to UCI
 * digits and a report. Then the published pre-trained model is reloaded with plain DL4J and scored
 * on the raw 10k test images, and the verdicts are printed. Rerunning it skips every finished stage.
 */
public final class DemoJob {
  public static final String PIPELINE_RESOURCE = "/pipelines/demo.yaml";
  private static final ObjectMapper JSON = new ObjectMapper();

  private DemoJob() {}

  /**
   * @param root the pipeline root (datasets under ROOT/data, models under ROOT/models)
   * @param overrides {@code STAGE.key=value} settings, as {@code pipeline run --set}
   */
  public record DemoConfig(String root, List<String> overrides) {}

  /**
   * What the demo did.
   *
   * @param pipeline the pipeline run (exit status, summary)
   * @param model the published pre-trained model
   * @param testAccuracy the pre-training job's test accuracy
   * @param reloadedAccuracy the saved zip's accuracy in plain DL4J on the raw MNIST test images (NaN if the run failed)
   * @param verdicts each verdict stage's comparison in words, in pipeline order
   */
  public record Result(PipelineRunner.Result pipeline, String model, double testAccuracy, double reloadedAccuracy, List<String> verdicts) {}

  /** The demo pipeline as shipped. */
  public static PipelineSpec spec() throws IOException {
    try (InputStream in = DemoJob.class.getResourceAsStream(PIPELINE_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("The demo pipeline " + PIPELINE_RESOURCE + " is missing from the jar");
      }
      return PipelineSpec.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), "demo.yaml (in the jar)");
    }
  }

  public static Result run(DemoConfig config, Storage storage, PipelineRunner.Options options) throws Exception {
    PipelinePlan plan = PipelineRunner.plan(spec().withRoot(config.root()).withOverrides(new ArrayList<>(config.overrides())), storage);
    PipelineRunner.Result run = new PipelineRunner(plan, storage).run(options);
    String model = plan.publishPath(plan.instancesOf("pretrain").get(0));
    double test = Double.NaN;
    double reloaded = Double.NaN;
    for (var s : run.summary().path("stages")) {
      if (s.path("stage").asText().equals("pretrain")) {
        test = s.path("metrics").path("test_accuracy").asDouble(Double.NaN);
      }
    }
    if (run.exitCode() == 0 || run.exitCode() == 3) {
      String raw = plan.instancesOf("fetch").get(0).output() + "/mnist/";
      reloaded = plainDl4jAccuracy(storage, model + "/model.zip", raw + "t10k-images-idx3-ubyte", raw + "t10k-labels-idx1-ubyte");
      options.log().accept(String.format("demo: test accuracy %.2f%% (Spark job), %.2f%% (saved zip reloaded in plain DL4J, raw MNIST test images)",
          100 * test, 100 * reloaded));
    }
    List<String> verdicts = new ArrayList<>();
    for (PipelinePlan.Instance i : plan.instances()) {
      Path result = new Path(i.output(), "result.json");
      if (i.type() == StageType.VERDICT && storage.exists(result)) {
        verdicts.add(verdictLine(JSON.readTree(storage.readString(result))));
      }
    }
    return new Result(run, model, test, reloaded, verdicts);
  }

  /** A verdict in words: "positive: gradual-unfreeze beats scratch by 20.94 points on UCI digits (p = 0.00022); 91.67% vs 70.73%". */
  static String verdictLine(JsonNode output) {
    JsonNode v = output.path("verdict");
    return String.format("%s: %s; %.2f%% vs %.2f%%", v.path("outcome").asText(), Verdict.inWords(output.path("label").asText(),
        v.path("outcome").asText(), v.path("difference").asDouble(), v.path("pValue").asDouble()), 100 * v.path("treatmentMean").asDouble(),
        100 * v.path("baselineMean").asDouble());
  }

  /** Loads the zip with DL4J's ModelSerializer and evaluates it on raw IDX files, no Spark. */
  public static double plainDl4jAccuracy(Storage storage, String modelZip, String images, String labels) throws Exception {
    MultiLayerNetwork net;
    try (InputStream in = storage.open(storage.path(modelZip))) {
      net = ModelSerializer.restoreMultiLayerNetwork(in, false);
    }
    Path img = storage.path(images);
    Path lab = storage.path(labels);
    IdxReader.Pair headers = IdxReader.inspect(storage, img, lab);
    List<Example> rows = IdxReader.read(storage, img, lab, headers, 0, headers.images().count(), 255f);
    int numFeatures = rows.get(0).features().length;
    Evaluation eval = new Evaluation();
    for (int start = 0; start < rows.size(); start += 1000) {
      int end = Math.min(rows.size(), start + 1000);
      float[] x = new float[(end - start) * numFeatures];
      INDArray y = Nd4j.zeros(DataType.FLOAT, end - start, 10);
      for (int i = start; i < end; i++) {
        System.arraycopy(rows.get(i).features(), 0, x, (i - start) * numFeatures, numFeatures);
        y.putScalar(i - start, rows.get(i).label(), 1f);
      }
      eval.eval(y, net.output(Nd4j.create(x, new long[] {end - start, numFeatures}, 'c')));
    }
    return eval.accuracy();
  }
}

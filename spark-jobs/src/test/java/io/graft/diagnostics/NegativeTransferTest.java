package io.graft.diagnostics;

import static org.apache.spark.sql.functions.floor;
import static org.apache.spark.sql.functions.rand;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.graft.cli.GraftCli;
import io.graft.config.ConfigLoader;
import io.graft.engine.JobOptions;
import io.graft.jobs.finetune.FinetuneConfig;
import io.graft.jobs.finetune.FinetuneJob;
import io.graft.jobs.pretrain.PretrainConfig;
import io.graft.jobs.pretrain.PretrainJob;
import io.graft.spark.GraftDatasets;
import io.graft.stats.Verdict.Outcome;
import io.graft.store.Provenance;
import io.graft.store.Storage;
import io.graft.testing.Chromium;
import io.graft.testing.SparkTests;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The constructed negative-transfer case: a source network pre-trained on MNIST with shuffled
 * labels has learnt nothing about digits; its frozen features must lose to training from scratch
 * on Fashion-MNIST, and the verdict must say so. The same runs feed the report and the CLI.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NegativeTransferTest {
  static final long[] SEEDS = {1, 2, 3};
  final SparkSession spark = SparkTests.spark();
  final Storage storage = new Storage(spark.sparkContext().hadoopConfiguration());
  Path work;
  final List<String> transfer = new ArrayList<>();
  final List<String> scratch = new ArrayList<>();

  @BeforeAll
  void trainSourceOnShuffledLabelsThenFineTuneAndScratch() throws Exception {
    work = Files.createTempDirectory(SparkTests.work(), "negative-transfer-");
    String shuffled = work.resolve("mnist-shuffled").toUri().toString();
    spark.read().parquet(SparkTests.mnistTrain()).withColumn(GraftDatasets.LABEL, floor(rand(11).multiply(10)).cast("int"))
        .write().parquet(shuffled);
    Files.copy(Path.of(URI.create(SparkTests.mnistTrain())).resolve("_manifest.json"),
        work.resolve("mnist-shuffled/_manifest.json"));
    String source = work.resolve("source-shuffled").toUri().toString();
    PretrainJob.run(ConfigLoader.load(null, List.of("data.train=" + shuffled, "data.test=" + SparkTests.mnistTest(),
        "model.architecture=lenet", "model.convChannels=[8, 16]", "model.dense=64", "training.epochs=3", "training.batchSizePerWorker=32",
        "output=" + source), PretrainConfig.class), spark, JobOptions.quiet());
    for (long seed : SEEDS) {
      transfer.add(finetune(source, seed, "feature-extraction"));
      scratch.add(finetune(source, seed, "scratch"));
    }
  }

  private String finetune(String source, long seed, String strategy) throws Exception {
    String out = work.resolve(strategy + "-s" + seed).toUri().toString();
    FinetuneJob.run(ConfigLoader.load(null, List.of("source=" + source, "data.train=" + SparkTests.fashionTrain(),
        "data.test=" + SparkTests.fashionTest(), "data.labelsPerClass=60", "strategy=" + strategy, "epochs=4",
        "training.batchSizePerWorker=32", "training.averagingFrequency=4", "training.seed=" + seed, "output=" + out), FinetuneConfig.class),
        spark, JobOptions.quiet());
    return out;
  }

  @Test
  void featuresLearntFromShuffledLabelsAreFlaggedNegativeAndRecorded() throws Exception {
    Path json = work.resolve("verdict.json");
    VerdictJob.Output o = VerdictJob.run(new VerdictJob.Request(transfer, scratch, null, 0.05, 0.0, "shuffled-label source vs scratch",
        true, json.toString()), storage);
    System.out.println("[negative-transfer] " + o.verdict().summary());
    assertThat(o.verdict().metric()).isEqualTo("test_accuracy");
    assertThat(o.verdict().outcome()).isEqualTo(Outcome.NEGATIVE);
    assertThat(o.verdict().hedgesG()).isLessThan(-0.8);
    for (String run : transfer) {
      assertThat(Provenance.read(storage, storage.path(run)).path("verdict").path("outcome").asText()).isEqualTo("negative");
    }
  }

  @Test
  void theCliExitsThreeOnNegativeTransferOnlyWhenAskedTo() {
    String runs = String.join(",", transfer);
    String base = String.join(",", scratch);
    assertThat(GraftCli.run("verdict", "--runs", runs, "--baseline", base)).isZero();
    assertThat(GraftCli.run("verdict", "--runs", runs, "--baseline", base, "--fail-on-negative-transfer"))
        .isEqualTo(GraftCli.EXIT_NEGATIVE_TRANSFER);
    assertThat(GraftCli.run("verdict", "--runs", runs, "--baseline", base, "--metric", "test_acc")).isEqualTo(GraftCli.EXIT_BAD_INPUT);
  }

  @Test
  void aPipelineWithAVerdictStageExitsThreeAndSaysSoInItsSummaryOnEveryRun() throws Exception {
    Path file = work.resolve("verdict-pipeline.yaml");
    Files.writeString(file, """
        name: negative
        stages:
          - name: verdict
            type: verdict
            args: {runs: %s, baseline: %s, label: shuffled-label source vs scratch}
          - name: report
            type: report
            args: {positional: ["${verdict}"]}
        """.formatted(transfer, scratch));
    Path summary = work.resolve("pipeline-summary.json");
    String root = work.resolve("verdict-pipeline").toString();
    assertThat(GraftCli.run("pipeline", "run", file.toString(), "--root", root, "--summary", summary.toString()))
        .isEqualTo(GraftCli.EXIT_NEGATIVE_TRANSFER);
    JsonNode s = new ObjectMapper().readTree(summary.toFile());
    assertThat(s.path("status").asText()).isEqualTo("negative-transfer");
    assertThat(s.path("stages").get(0).path("outcome").asText()).isEqualTo("negative-transfer");
    assertThat(s.path("stages").get(1).path("outcome").asText()).isEqualTo("done");
    // a scheduler's retry with nothing changed skips both stages and reports the same verdict
    assertThat(GraftCli.run("pipeline", "run", file.toString(), "--root", root, "--summary", summary.toString()))
        .isEqualTo(GraftCli.EXIT_NEGATIVE_TRANSFER);
    assertThat(new ObjectMapper().readTree(summary.toFile()).path("stages").findValuesAsText("action")).containsOnly("skip");
  }

  @Test
  void theReportOpensWithTheVerdictAndChromiumDrawsEveryChartWithoutOverlapsAtTwoWidths() throws Exception {
    Path json = work.resolve("verdict-report.json");
    VerdictJob.run(new VerdictJob.Request(transfer, scratch, null, 0.05, 0.0, "shuffled-label source vs scratch", false, json.toString()),
        storage);
    List<String> inputs = new ArrayList<>(transfer);
    inputs.addAll(scratch);
    inputs.add(json.toString());
    Path html = work.resolve("report.html");
    ReportJob.Result r = ReportJob.run(new ReportJob.Request(inputs, html.toString(), "negative transfer"), storage);
    assertThat(r.runs()).isEqualTo(6);
    String page = Files.readString(html);
    assertThat(page).contains("<span class=\"negative\">negative</span>", "finetune: feature-extraction", "finetune: scratch",
        "shuffled-label source vs scratch");
    int svgs = page.split("<svg class=\"chart\"", -1).length - 1;
    // per round: loss and validation accuracy; the two variants' test accuracy side by side
    assertThat(svgs).isEqualTo(r.charts()).isEqualTo(3);
    assertThat(page).contains("Did transfer help?", "Training loss per round: finetune on", "Final test_accuracy per variant on");
    assertThat(page.indexOf("Did transfer help?")).as("the verdict opens the report").isLessThan(page.indexOf("<h2>Runs</h2>"));
    assertThat(page).doesNotContain("http://", "https://"); // self-contained: nothing fetched when opened offline

    Chromium chromium = Chromium.find().orElse(null);
    Assumptions.assumeTrue(chromium != null, "chromium not installed (.ci/run installs it)");
    for (int width : new int[] {1280, 500}) {
      assertThat(chromium.requireCleanLayout(html, width).get("charts-rendered")).isEqualTo(Integer.toString(svgs));
    }
  }
}

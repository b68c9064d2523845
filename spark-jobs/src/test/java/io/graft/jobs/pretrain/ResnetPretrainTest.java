package io.graft.jobs.pretrain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.graft.config.ConfigException;
import io.graft.config.ConfigLoader;
import io.graft.data.BadRecordPolicy;
import io.graft.diagnostics.EvaluateJob;
import io.graft.engine.DistributedEvaluator;
import io.graft.engine.JobOptions;
import io.graft.engine.RoundMetrics;
import io.graft.spark.GraftDatasets;
import io.graft.store.Provenance;
import io.graft.store.Storage;
import io.graft.surgery.Graphs;
import io.graft.testing.SparkTests;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.dataset.DataSet;

/**
 * {@code model.architecture: resnet} pre-trains a residual ComputationGraph through Spark on real
 * MNIST rows, on both engines: it learns (beats the untrained graph by far), its zip reloads in
 * plain DL4J with the same accuracy, {@code graft evaluate} reads it, and a run that dies resumes
 * from its checkpoint as a graph.
 */
class ResnetPretrainTest {
  final SparkSession spark = SparkTests.spark();
  final Storage storage = new Storage(spark.sparkContext().hadoopConfiguration());
  @TempDir Path dir;

  private PretrainConfig config(String output, String... overrides) {
    List<String> sets = new ArrayList<>(List.of("data.train=" + SparkTests.mnistTrain(), "data.test=" + SparkTests.mnistTest(),
        "model.architecture=resnet", "training.epochs=2", "training.batchSizePerWorker=64",
        "training.averagingFrequency=10", "training.maxRows=4000", "optimizer.learningRate=0.002", "output=" + output));
    sets.addAll(List.of(overrides));
    return ConfigLoader.load(null, sets, PretrainConfig.class);
  }

  @Test
  void aResidualGraphLearnsOnBothEnginesAndReloadsInPlainDl4jWithTheSameAccuracy() throws Exception {
    for (String engine : List.of("dl4j-spark", "graft")) {
      String out = dir.resolve(engine).toUri().toString();
      PretrainConfig config = config(out, "training.engine=" + engine);
      ComputationGraph untrained = (ComputationGraph) PretrainPlan.of(config, storage, false).newNetwork();
      double before = DistributedEvaluator.evaluate(JavaSparkContext.fromSparkContext(spark.sparkContext()), untrained,
          GraftDatasets.miniBatches(spark.read().parquet(SparkTests.mnistTest()), 500, 784, 10)).accuracy();
      PretrainJob.Result r = PretrainJob.run(config, spark, JobOptions.quiet());
      assertThat(r.engine()).isEqualTo(engine);
      assertThat(r.testAccuracy()).as("%s: trained %.4f vs untrained %.4f", engine, r.testAccuracy(), before).isGreaterThan(0.85)
          .isGreaterThan(before + 0.5);
      assertThat(r.history()).extracting(RoundMetrics::round).containsExactly(1, 2);

      JsonNode prov = Provenance.read(storage, storage.path(out));
      assertThat(prov.at("/model/architecture").asText()).isEqualTo("resnet");
      assertThat(prov.at("/model/layers").toString()).startsWith("[\"stem\",\"stem.bn\",\"stem.relu\",\"stage1.block1.conv1\"")
          .contains("\"stage2.block1.proj\"", "\"stage2.block1\"").endsWith("\"pool\",\"output\"]");

      ComputationGraph graph;
      try (InputStream in = Files.newInputStream(dir.resolve(engine).resolve("model.zip"))) {
        graph = ModelSerializer.restoreComputationGraph(in, false);
      }
      Evaluation eval = new Evaluation();
      for (DataSet ds : GraftDatasets.miniBatches(spark.read().parquet(SparkTests.mnistTest()), 500, 784, 10).collect()) {
        eval.eval(ds.getLabels(), graph.outputSingle(ds.getFeatures()));
      }
      assertThat(eval.accuracy()).isEqualTo(r.testAccuracy());
      EvaluateJob.Output evaluated = EvaluateJob.run(new EvaluateJob.Request(out, SparkTests.mnistTest(), null,
          BadRecordPolicy.FAIL), spark);
      assertThat(evaluated.accuracy()).isEqualTo(r.testAccuracy());
      assertThat(Graphs.describe(graph)).extracting(Graphs.VertexInfo::name).contains("stage1.block1.add", "pool", "output");
      assertThat(Graphs.inputSize(graph)).isEqualTo(784);
    }
  }

  @Test
  void aGraphRunThatDiesResumesFromItsCheckpoint() throws Exception {
    String out = dir.resolve("resumed").toUri().toString();
    JobOptions dying = JobOptions.quiet().withListener((m, net) -> {
      assertThat(net).isInstanceOf(ComputationGraph.class);
      if (m.round() == 1) {
        throw new IllegalStateException("simulated driver death");
      }
    });
    assertThatThrownBy(() -> PretrainJob.run(config(out), spark, dying)).hasMessage("simulated driver death");
    List<Integer> rounds = new ArrayList<>();
    PretrainJob.Result r = PretrainJob.run(config(out), spark,
        JobOptions.quiet().withResume(true).withListener((m, net) -> rounds.add(m.round())));
    assertThat(rounds).containsExactly(2);
    assertThat(r.resumedFromRound()).isEqualTo(1);
    assertThat(r.history()).extracting(RoundMetrics::round).containsExactly(1, 2);
    assertThat(r.testAccuracy()).as("the resumed round goes on learning from the checkpoint's graph").isGreaterThan(0.85)
        .isGreaterThan(r.history().get(0).evalAccuracy());
  }

  @Test
  void resnetSettingsThatCannotWorkAreOneLineBeforeSparkStarts() {
    String out = dir.resolve("bad").toUri().toString();
    assertThatThrownBy(() -> PretrainPlan.of(config(out, "model.widths=[8]"), storage, false)).isInstanceOf(ConfigException.class)
        .hasMessageContaining("model.stages and model.widths must list one value per stage, cannot be: stages [2, 2, 2], widths [8]");
    assertThatThrownBy(() -> PretrainPlan.of(config(out, "probe.train=" + SparkTests.mnistTrain()), storage, false))
        .hasMessage("probe measures a self-supervised encoder; objective.kind is supervised (remove probe)");
    assertThatThrownBy(() -> PretrainPlan.of(config(out, "model.stages=[1, 1, 1, 1, 1]", "model.widths=[4, 4, 4, 4, 4]"), storage, false))
        .hasMessage("The resnet architecture with 5 stages halves the resolution 4 times; the dataset's 28x28 images are too small");
    assertThatThrownBy(() -> PretrainPlan.of(config(out, "objective.kind=contrastive", "augmentation.crop=0.2", "probe.train="
        + SparkTests.mnistTrain(), "probe.layer=proj1"), storage, false))
        .hasMessageStartingWith("Cannot probe layer 'proj1': it is part of the contrastive head, not the encoder (encoder layers: stem, stem.bn,")
        .hasMessageEndingWith(", pool)");
  }
}

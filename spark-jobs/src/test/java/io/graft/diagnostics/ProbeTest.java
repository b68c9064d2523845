package io.graft.diagnostics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.graft.config.ConfigException;
import io.graft.config.ConfigLoader;
import io.graft.jobs.finetune.FinetuneConfig;
import io.graft.jobs.finetune.FinetuneJob;
import io.graft.store.Storage;
import io.graft.surgery.Surgery;
import io.graft.testing.SparkTests;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.BiFunction;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProbeTest {
  final SparkSession spark = SparkTests.spark();
  final Storage storage = new Storage(spark.sparkContext().hadoopConfiguration());
  @TempDir Path dir;

  private ProbeJob.Request request(List<String> layers, String writeConfig) {
    return new ProbeJob.Request(SparkTests.lenetSource(), SparkTests.fashionTrain(), SparkTests.fashionTest(), 20, 500, layers, 0.01,
        new double[] {1e-2}, 40, 3, dir.resolve("probe.json").toString(), writeConfig);
  }

  @Test
  void probesEachLayerAndWritesARecommendationThatFineTuneAccepts() throws Exception {
    Path yaml = dir.resolve("rec.yaml");
    ProbeJob.Output o = ProbeJob.run(request(List.of("pool1", "dense1"), yaml.toString()), spark, line -> { });
    assertThat(o.layers()).extracting(ProbeJob.LayerProbe::layer).containsExactly("input", "pool1", "dense1");
    assertThat(o.layers()).extracting(ProbeJob.LayerProbe::width).containsExactly(784L, 8L * 12 * 12, 64L);
    assertThat(o.trainRows()).isEqualTo(200);
    assertThat(o.testRows()).isEqualTo(500);
    // Ten classes: every probe does far better than chance on real Fashion-MNIST.
    assertThat(o.layers()).allSatisfy(p -> assertThat(p.accuracy()).isGreaterThan(0.4));
    assertThat(o.recommendation().reasoning()).isNotEmpty();
    assertThat(Files.readString(dir.resolve("probe.json"))).contains("\"kind\" : \"probe\"");
    FinetuneConfig cfg = ConfigLoader.load(yaml, List.of("output=" + dir.resolve("ft")), FinetuneConfig.class);
    assertThat(cfg.stages()).isNotEmpty();
    assertThat(cfg.stages().get(cfg.stages().size() - 1).trainFrom()).isEqualTo(o.recommendation().trainFrom());
    FinetuneJob.validate(cfg, storage, false);
  }

  @Test
  void theRecommendationReadsTheProbeCurve() {
    MultiLayerNetwork net = Surgery.load(storage, SparkTests.lenetSource()).network();
    // conv1, bn1, pool1, conv2, bn2, pool2, dense1, output
    List<String> names = Surgery.layerNames(net);
    BiFunction<String, Double, ProbeJob.LayerProbe> p = (n, a) -> new ProbeJob.LayerProbe(n, names.indexOf(n), 10, a, 0, 0);
    ProbeJob.LayerProbe raw = new ProbeJob.LayerProbe("input", -1, 784, 0.70, 0, 0);

    ProbeJob.Recommendation top = ProbeJob.recommend(List.of(raw, p.apply("pool1", 0.75), p.apply("pool2", 0.80), p.apply("dense1", 0.805)),
        net, 0.01);
    assertThat(top.strategy()).isEqualTo("feature-extraction");
    assertThat(top.trainFrom()).isEqualTo("head");
    assertThat(top.freezeThrough()).isEqualTo("dense1");
    assertThat(top.alpha()).isEqualTo(0.1);

    ProbeJob.Recommendation middle = ProbeJob.recommend(List.of(raw, p.apply("pool1", 0.83), p.apply("pool2", 0.78), p.apply("dense1", 0.78)),
        net, 0.01);
    assertThat(middle.freezeThrough()).isEqualTo("pool1");
    assertThat(middle.trainFrom()).isEqualTo("conv2");
    assertThat(middle.frozenLayers()).isEqualTo(names.indexOf("pool1") + 1);
    assertThat(middle.alpha()).isEqualTo(0.3); // 0.1 + 0.04 * 5 points

    ProbeJob.Recommendation none = ProbeJob.recommend(List.of(raw, p.apply("pool1", 0.705), p.apply("dense1", 0.69)), net, 0.01);
    assertThat(none.strategy()).isEqualTo("full");
    assertThat(none.trainFrom()).isEqualTo("all");
    assertThat(none.reasoning().get(1)).contains("no layer beats the raw inputs");
  }

  @Test
  void anUnknownLayerIsNamedWithTheModelsLayers() {
    List<String> names = Surgery.layerNames(Surgery.load(storage, SparkTests.lenetSource()).network());
    assertThatThrownBy(() -> ProbeJob.validate(request(List.of("dense9"), null), storage)).isInstanceOf(ConfigException.class)
        .hasMessage("Cannot probe: layer 'dense9' not found in model (layers: " + String.join(", ", names) + ")");
  }
}

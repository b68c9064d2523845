package io.graft.diagnostics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.graft.config.ConfigException;
import io.graft.data.BadRecordPolicy;
import io.graft.store.Storage;
import io.graft.testing.SparkTests;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EvaluateTest {
  final SparkSession spark = SparkTests.spark();
  @TempDir Path dir;

  @Test
  void perClassFiguresAgreeWithTheConfusionMatrix() throws Exception {
    Path json = dir.resolve("eval.json");
    EvaluateJob.Output o = EvaluateJob.run(new EvaluateJob.Request(SparkTests.lenetSource(), SparkTests.mnistTest(), json.toString(),
        BadRecordPolicy.FAIL), spark);
    assertThat(o.rows()).isEqualTo(2000);
    long total = 0;
    long diagonal = 0;
    for (int a = 0; a < 10; a++) {
      long predictedA = 0;
      for (int p = 0; p < 10; p++) {
        total += o.confusion()[a][p];
        predictedA += o.confusion()[p][a];
      }
      diagonal += o.confusion()[a][a];
      EvaluateJob.ClassMetrics c = o.classes().get(a);
      assertThat(c.support()).isEqualTo(Arrays.stream(o.confusion()[a]).sum());
      assertThat(c.recall()).isCloseTo((double) o.confusion()[a][a] / c.support(), offset(1e-9));
      assertThat(c.precision()).isCloseTo(predictedA == 0 ? 0 : (double) o.confusion()[a][a] / predictedA, offset(1e-9));
    }
    assertThat(total).isEqualTo(2000);
    assertThat(o.accuracy()).isCloseTo((double) diagonal / total, offset(1e-9));
    assertThat(o.accuracy()).isGreaterThan(0.8); // a real LeNet, one round on 6,000 MNIST images
    JsonNode written = new ObjectMapper().readTree(Files.readString(json));
    assertThat(written.path("kind").asText()).isEqualTo("evaluation");
    assertThat(written.path("confusion").size()).isEqualTo(10);
  }

  @Test
  void aDatasetOfTheWrongWidthIsRefused() {
    assertThatThrownBy(() -> EvaluateJob.validate(new EvaluateJob.Request(SparkTests.lenetSource(), SparkTests.digits8(), null, null),
        new Storage(spark.sparkContext().hadoopConfiguration()))).isInstanceOf(ConfigException.class)
        .hasMessage("Cannot evaluate: dataset " + SparkTests.digits8() + " has 64 features but model " + SparkTests.lenetSource()
            + " takes 784 inputs");
  }
}

package io.graft.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.graft.config.ConfigException;
import io.graft.model.OneDnn;
import io.graft.testing.SparkTests;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

class GraftSparkTest {
  @Test
  void thePluginJoinsTheUsersPluginsOnce() {
    SparkConf none = new SparkConf(false);
    GraftSpark.plugin(none);
    assertThat(none.get("spark.plugins")).isEqualTo(GraftPlugin.class.getName());

    SparkConf theirs = new SparkConf(false).set("spark.plugins", "com.example.Metrics");
    GraftSpark.plugin(theirs);
    GraftSpark.plugin(theirs);
    assertThat(theirs.get("spark.plugins")).isEqualTo("com.example.Metrics," + GraftPlugin.class.getName());
  }

  @Test
  void everySessionRunsThePluginGivesExecutorsOneNd4jThreadPerTaskCoreAndTheDriverUsesOneDnn() {
    SparkConf conf = SparkTests.spark().sparkContext().getConf();
    assertThat(conf.get("spark.plugins")).contains(GraftPlugin.class.getName());
    assertThat(conf.get("spark.executorEnv.OMP_NUM_THREADS")).isEqualTo("1");
    assertThat(System.getProperty(OneDnn.HELPERS_DISABLE)).isEqualTo("false");
  }

  @Test
  void executorsGetOneNd4jThreadPerTaskCoreEvenWhenTaskCpusComesFromSparkConf() {
    assertThat(GraftSpark.conf("t", "local[1]", Map.of("spark.task.cpus", "2")).get("spark.executorEnv.OMP_NUM_THREADS"))
        .isEqualTo("2");
    assertThat(GraftSpark.conf("t", "local[1]", Map.of("spark.executorEnv.OMP_NUM_THREADS", "4"))
        .get("spark.executorEnv.OMP_NUM_THREADS")).isEqualTo("4");
  }

  @Test
  void aBadOneDnnSettingIsRefusedBeforeSparkStarts() {
    assertThatThrownBy(() -> GraftSpark.session("graft-tests", "local[1]", Map.of(OneDnn.SETTING, "maybe")))
        .isInstanceOf(ConfigException.class)
        .hasMessage("spark.graft.onednn must be auto, on or off, cannot be: maybe");
    assertThat(System.getProperty(OneDnn.HELPERS_DISABLE)).isEqualTo("false");
  }
}

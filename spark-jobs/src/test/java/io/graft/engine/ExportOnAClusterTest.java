package io.graft.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.graft.config.ConfigException;
import io.graft.config.TrainingConfig;
import io.graft.spark.GraftSpark;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

/**
 * dl4j-spark's Export approach on a cluster needs a shared default filesystem; Graft refuses the
 * local one from the configuration the session will start with, before Spark starts (no executor
 * is launched to be refused), and reads {@code fs.defaultFS} where the session will:
 * {@code spark.hadoop.*} settings included.
 */
class ExportOnAClusterTest {
  private static final TrainingConfig EXPORT = TrainingConfig.defaults();

  private static SparkConf master(String master) {
    return new SparkConf(false).setMaster(master);
  }

  @Test
  void aClusterWithTheLocalDefaultFilesystemIsRefusedByName() {
    assertThat(EXPORT.engine()).isEqualTo(TrainingConfig.Engine.DL4J_SPARK);
    assertThat(EXPORT.approach()).isEqualTo(TrainingConfig.Approach.EXPORT);
    for (String cluster : new String[] {"spark://127.0.0.1:7077", "yarn", "local-cluster[2,1,1024]"}) {
      SparkConf conf = master(cluster);
      assertThatThrownBy(() -> ParameterAveraging.requireSupported(EXPORT, conf, GraftSpark.hadoopConf(conf)))
          .isInstanceOf(ConfigException.class)
          .hasMessageStartingWith("training.approach export on a cluster (" + cluster + ") needs a shared default filesystem, "
              + "but fs.defaultFS is file:///");
    }
  }

  @Test
  void theSessionsSparkHadoopSettingsNameTheDefaultFilesystem() {
    SparkConf conf = master("spark://127.0.0.1:7077").set("spark.hadoop.fs.defaultFS", "hdfs://namenode:8020")
        .set("spark.hadoop.dfs.replication", "2").set("spark.executor.memory", "1g");
    Configuration hadoop = GraftSpark.hadoopConf(conf);
    assertThat(hadoop.get("fs.defaultFS")).isEqualTo("hdfs://namenode:8020");
    assertThat(hadoop.get("dfs.replication")).isEqualTo("2");
    assertThat(hadoop.get("executor.memory")).isNull();
    assertThatCode(() -> ParameterAveraging.requireSupported(EXPORT, conf, hadoop)).doesNotThrowAnyException();
  }

  @Test
  void localMastersAndGraftsOwnAveragingNeedNoSharedFilesystem() {
    for (String local : new String[] {"local", "local[2]", "local[*]"}) {
      SparkConf conf = master(local);
      assertThatCode(() -> ParameterAveraging.requireSupported(EXPORT, conf, GraftSpark.hadoopConf(conf))).doesNotThrowAnyException();
    }
    TrainingConfig graft = new TrainingConfig((Integer) null, null, null, null, null, null, null, null, null, TrainingConfig.Engine.GRAFT, null);
    SparkConf cluster = master("spark://127.0.0.1:7077");
    assertThatCode(() -> ParameterAveraging.requireSupported(graft, cluster, GraftSpark.hadoopConf(cluster))).doesNotThrowAnyException();
  }
}

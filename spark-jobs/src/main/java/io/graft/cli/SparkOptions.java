package io.graft.cli;

import io.graft.spark.GraftSpark;
import io.graft.store.Storage;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Option;

/** The Spark options every job command takes (a picocli mixin). */
public final class SparkOptions {
  @Option(names = "--master", paramLabel = "URL",
      description = "Spark master (spark://host:7077, yarn, k8s://...). Default: spark-submit's, else the embedded local[*].")
  String master;

  @Option(names = "--spark-conf", paramLabel = "KEY=VALUE", description = "Extra Spark setting; repeatable.")
  Map<String, String> sparkConf = new LinkedHashMap<>();

  private SparkConf conf;
  private Configuration hadoop;

  /**
   * The configuration the command's session will start with, built once (it checks the settings and
   * logs): the first call's {@code appName} names the application.
   */
  SparkConf conf(String appName) {
    if (conf == null) {
      conf = GraftSpark.conf(appName, master, sparkConf);
    }
    return conf;
  }

  /** The Hadoop configuration of that session (built once, like {@link #conf}), for checks before Spark starts. */
  Configuration hadoopConf(String appName) {
    if (hadoop == null) {
      hadoop = GraftSpark.hadoopConf(conf(appName));
    }
    return hadoop;
  }

  /** Storage on {@link #hadoopConf}: a command's paths checked before Spark starts mean what they will mean to the job. */
  Storage storage(String appName) {
    return new Storage(hadoopConf(appName));
  }

  SparkSession session(String appName) {
    return GraftSpark.session(conf(appName));
  }
}

package io.graft.cli;

import io.graft.spark.GraftSpark;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Option;

/** The Spark options every job command takes (a picocli mixin). */
public final class SparkOptions {
  @Option(names = "--master", paramLabel = "URL",
      description = "Spark master (spark://host:7077, yarn, k8s://...). Default: spark-submit's, else the embedded local[*].")
  String master;

  @Option(names = "--spark-conf", paramLabel = "KEY=VALUE", description = "Extra Spark setting; repeatable.")
  Map<String, String> sparkConf = new LinkedHashMap<>();

  SparkSession session(String appName) {
    return GraftSpark.session(appName, master, sparkConf);
  }
}

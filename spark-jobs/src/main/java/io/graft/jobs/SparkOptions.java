package io.graft.jobs;

import io.graft.spark.GraftSpark;
import io.graft.store.Storage;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Option;

/** The Spark options every job takes (a picocli mixin), and the session and {@link JobEnv} they make. */
public final class SparkOptions {
  @Option(names = "--master", paramLabel = "URL",
      description = "Spark master (spark://host:7077, yarn, k8s://...). Default: spark-submit's, else the embedded local[*].")
  String master;

  @Option(names = "--spark-conf", paramLabel = "KEY=VALUE", description = "Extra Spark setting; repeatable.")
  Map<String, String> sparkConf = new LinkedHashMap<>();

  private SparkConf conf;
  private JobEnv env;

  /** The {@code --spark-conf} settings as given (over spark-submit's, if any). */
  public Map<String, String> extra() {
    return sparkConf;
  }

  /**
   * The configuration the session will start with, built once (it checks the settings and logs):
   * the first call's {@code appName} names the application.
   */
  public SparkConf conf(String appName) {
    if (conf == null) {
      conf = GraftSpark.conf(appName, master, sparkConf);
    }
    return conf;
  }

  /** {@link #conf} with storage on its Hadoop configuration, built once, for checks before Spark starts. */
  public JobEnv env(String appName) {
    if (env == null) {
      SparkConf c = conf(appName);
      env = new JobEnv(c, new Storage(GraftSpark.hadoopConf(c)));
    }
    return env;
  }

  public Storage storage(String appName) {
    return env(appName).storage();
  }

  public SparkSession session(String appName) {
    return GraftSpark.session(conf(appName));
  }
}

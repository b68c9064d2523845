package io.graft.spark;

import io.graft.config.ConfigException;
import io.graft.engine.TaskGpu;
import io.graft.model.OneDnn;
import io.graft.store.Storage;
import java.io.IOException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkContext;
import org.apache.spark.SparkExecutorInfo;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

/**
 * Creates the SparkSession every job runs in. With no master given (and none from
 * {@code spark-submit}), Graft embeds Spark {@code local[*]} in the driver JVM, bound to loopback.
 * Kryo with ND4J's registrator is always on: INDArrays travel in every broadcast and result.
 * {@link GraftPlugin} prepares every executor; the driver's own networks get the same oneDNN setting.
 */
public final class GraftSpark {
  private static final Logger LOG = LoggerFactory.getLogger(GraftSpark.class);
  public static final String EMBEDDED_MASTER = "local[*]";

  private GraftSpark() {}

  /**
   * Returns the active session or builds one.
   *
   * @param master the {@code --master} URL, or null to use spark-submit's, else local[*]
   * @param extra {@code --spark-conf key=value} settings, applied last
   */
  public static SparkSession session(String appName, String master, Map<String, String> extra) {
    return session(conf(appName, master, extra));
  }

  /** Returns the active session or builds one from {@code conf} (from {@link #conf}). */
  public static SparkSession session(SparkConf conf) {
    return SparkSession.builder().config(conf).getOrCreate();
  }

  /**
   * The Hadoop configuration a session started from {@code conf} has: the {@code *-site.xml} files
   * on the classpath ({@code HADOOP_CONF_DIR}) and every {@code spark.hadoop.*} setting, as Spark
   * copies them. A command checks its paths with it before Spark starts, so that a bare path means
   * the same filesystem to the check as to the job ({@code --conf spark.hadoop.fs.defaultFS=hdfs://...}).
   */
  public static Configuration hadoopConf(SparkConf conf) {
    Configuration hadoop = new Configuration();
    for (Tuple2<String, String> setting : conf.getAllWithPrefix("spark.hadoop.")) {
      hadoop.set(setting._1(), setting._2());
    }
    return hadoop;
  }

  /** The configuration {@link #session} starts Spark with (and this JVM's oneDNN setting); refuses what Graft cannot honour. */
  public static SparkConf conf(String appName, String master, Map<String, String> extra) {
    SparkConf conf = new SparkConf(true);
    if (master != null && !master.isBlank()) {
      conf.setMaster(master);
    } else if (!conf.contains("spark.master")) {
      conf.setMaster(EMBEDDED_MASTER);
    }
    conf.setIfMissing("spark.app.name", appName);
    boolean local = conf.get("spark.master").startsWith("local");
    if (local) {
      conf.setIfMissing("spark.driver.host", "127.0.0.1");
      conf.setIfMissing("spark.driver.bindAddress", "127.0.0.1");
      conf.setIfMissing("spark.ui.enabled", "false");
    }
    conf.setIfMissing("spark.serializer", "org.apache.spark.serializer.KryoSerializer");
    conf.setIfMissing("spark.kryo.registrator", GraftKryoRegistrator.class.getName());
    conf.setIfMissing("spark.kryoserializer.buffer.max", "512m");
    conf.setIfMissing("spark.sql.shuffle.partitions", "8");
    conf.setIfMissing("spark.sql.parquet.compression.codec", "snappy");
    // dl4j-spark's training stats would otherwise query an NTP server.
    System.setProperty("org.deeplearning4j.spark.time.TimeSource", "org.deeplearning4j.spark.time.SystemClockTimeSource");
    for (Map.Entry<String, String> e : extra.entrySet()) {
      conf.set(e.getKey(), e.getValue());
    }
    // one ND4J / oneDNN thread per task core (after --spark-conf, which may set spark.task.cpus): more
    // only oversubscribes the executor's cores
    conf.setIfMissing("spark.executorEnv.OMP_NUM_THREADS", conf.get("spark.task.cpus", "1"));
    TaskGpu.checkConf(conf);
    standaloneSecret(conf);
    GraftKerberos.sparkSettings(conf);
    plugin(conf);
    OneDnn.Status onednn = OneDnn.configure(conf.get(OneDnn.SETTING, "auto"));
    LOG.info("Graft driver: {}", onednn.reason());
    return conf;
  }

  /** Adds {@link GraftPlugin} to the user's {@code spark.plugins}, if any. */
  static void plugin(SparkConf conf) {
    String plugins = conf.get("spark.plugins", "");
    if (!Arrays.asList(plugins.split("\\s*,\\s*")).contains(GraftPlugin.class.getName())) {
      conf.set("spark.plugins", plugins.isBlank() ? GraftPlugin.class.getName() : plugins + "," + GraftPlugin.class.getName());
    }
  }

  /** Where graft-submit --secret-file (and spark-standalone.sh) put Spark's shared secret; Spark's daemons and executors read it there too. */
  static final String SECRET_ENV = "_SPARK_AUTH_SECRET";

  /**
   * With {@code spark.authenticate} on a standalone master, Spark's driver insists on
   * {@code spark.authenticate.secret} in its configuration. graft-submit passes the secret in the
   * environment instead (a command line or a file would show it): it is set here, in the driver's
   * memory only. Without one, the job is refused in one line, before Spark starts.
   */
  static void standaloneSecret(SparkConf conf) {
    if (!conf.getBoolean("spark.authenticate", false) || !conf.get("spark.master", "").startsWith("spark://")
        || conf.contains("spark.authenticate.secret")) {
      return;
    }
    String secret = System.getenv(SECRET_ENV);
    if (secret == null || secret.isBlank()) {
      throw new ConfigException("spark.authenticate is on for the standalone master " + conf.get("spark.master")
          + " but no secret was given: pass graft-submit --secret-file FILE (the secret the master and workers run with)");
    }
    conf.set("spark.authenticate.secret", secret);
  }

  /**
   * Tasks Spark can run at once: its own count, which divides each executor's cores by
   * {@code spark.task.cpus} and, on GPU executors, its GPUs by {@code spark.task.resource.gpu.amount}
   * (an executor with 8 cores and 1 GPU runs one GPU task at a time). Falls back to the default
   * parallelism while no executor has registered.
   */
  public static int slots(SparkContext sc) {
    int n = concurrentTasks(sc);
    return n > 0 ? n : sc.defaultParallelism();
  }

  /** Tasks the executors registered now can run at once (0 while none has registered). */
  public static int concurrentTasks(SparkContext sc) {
    // private[spark] in Scala, public in the bytecode: the number Spark's barrier scheduling checks against
    return sc.maxNumConcurrentTasks(sc.resourceProfileManager().defaultResourceProfile());
  }

  public static SparkSession session(String appName, String master) {
    return session(appName, master, new LinkedHashMap<>());
  }

  /** Names the Spark job group so the UI shows "Graft: pretrain round 2/3", not "mapPartitions at ...". */
  public static void jobGroup(SparkSession spark, String id, String description) {
    spark.sparkContext().setJobGroup(id, "Graft: " + description, false);
  }

  /**
   * Deletes a job's staging folder once no task is running any more (waiting up to a minute): when
   * one task of a write fails, Spark fails the job while the stage's other tasks may still be
   * writing, and a task that finishes after the folder is gone creates it again.
   */
  public static void deleteStaging(SparkSession spark, Storage storage, Path staging) throws IOException {
    if (!storage.exists(staging)) {
      return; // renamed into place
    }
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (runningTasks(spark) > 0 && System.nanoTime() < deadline) {
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    // a killed task can still be cleaning up its attempt after the tracker stops counting it: watch for the folder coming back
    for (int i = 0; i < 20; i++) {
      if (storage.exists(staging)) {
        storage.delete(staging);
      } else if (i > 0) {
        try {
          Thread.sleep(100);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  private static int runningTasks(SparkSession spark) {
    int n = spark.sparkContext().statusTracker().getActiveStageIds().length;
    for (SparkExecutorInfo e : spark.sparkContext().statusTracker().getExecutorInfos()) {
      n += e.numRunningTasks();
    }
    return n;
  }
}

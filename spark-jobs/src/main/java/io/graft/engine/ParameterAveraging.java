package io.graft.engine;

import io.graft.config.ConfigException;
import io.graft.config.TrainingConfig;
import io.graft.model.GraftKernels;
import io.graft.spark.GraftSpark;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.spark.api.RDDTrainingApproach;
import org.deeplearning4j.spark.api.TrainingHook;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.nd4j.linalg.dataset.api.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;

/**
 * Builds dl4j-spark's ParameterAveragingTrainingMaster from Graft's training config.
 *
 * <p>Two of its defaults are wrong for Graft and are overridden: {@code saveUpdater} is false
 * upstream, which throws away Adam's moment estimates at every averaging; and the export folder
 * defaults to {@code hadoop.tmp.dir}, which a non-local master refuses when it is on the local
 * filesystem. Graft keeps updater state and exports under the job's output work folder (on the
 * same filesystem as the output, i.e. HDFS on a cluster).
 */
public final class ParameterAveraging {
  private ParameterAveraging() {}

  /** Parallel workers: the configured count, or the tasks Spark can run at once when it is 0 ({@link io.graft.spark.GraftSpark#slots}). */
  public static int workers(TrainingConfig t, JavaSparkContext sc) {
    return t.workers() > 0 ? t.workers() : GraftSpark.slots(sc.sc());
  }

  /**
   * Refuses, before any Spark work, what dl4j-spark cannot do on this cluster: GPU executors
   * ({@link #requireGpuCapable}), and what it would refuse only when training starts: the
   * Export approach on a cluster (a non-local master) whose default filesystem is the local one.
   * dl4j-spark checks {@code fs.defaultFS}, not the export folder, so even an output on HDFS fails
   * there unless the default filesystem is shared.
   *
   * @throws ConfigException naming the setting and the ways out
   */
  public static void requireSupported(TrainingConfig t, SparkContext sc) {
    requireSupported(t, sc.getConf(), sc.hadoopConfiguration());
  }

  /** {@link #requireSupported(TrainingConfig, SparkContext)} before Spark starts: from the configuration it will start with. */
  public static void requireSupported(TrainingConfig t, SparkConf conf, Configuration hadoop) {
    requireGpuCapable(t, conf);
    String master = conf.get("spark.master", "local[*]");
    if (t.engine() != TrainingConfig.Engine.DL4J_SPARK || t.approach() != TrainingConfig.Approach.EXPORT || master.equals("local")
        || master.startsWith("local[")) { // as SparkContext.isLocal: local-cluster[...] is a cluster
      return;
    }
    String defaultFs = hadoop.get("fs.defaultFS", "file:///");
    if (defaultFs.startsWith("file:")) {
      throw new ConfigException("training.approach export on a cluster (" + master + ") needs a shared default "
          + "filesystem, but fs.defaultFS is " + defaultFs + ": pass --conf spark.hadoop.fs.defaultFS=hdfs://NAMENODE:PORT, or set "
          + "training.engine=graft or training.approach=direct");
    }
  }

  /**
   * Refuses GPU executors ({@code spark.task.resource.gpu.amount}) with the dl4j-spark engine: its
   * workers build their network before Graft code runs in the task, so ND4J would place it on
   * whichever GPU the thread first touched, not the one Spark assigned, and tasks would share GPUs
   * at random. Graft's own averaging binds every task first ({@link TaskGpu}).
   */
  static void requireGpuCapable(TrainingConfig t, SparkConf conf) {
    if (t.engine() == TrainingConfig.Engine.DL4J_SPARK && conf.contains("spark.task.resource.gpu.amount")) {
      throw new ConfigException("GPU executors (spark.task.resource.gpu.amount) need training.engine=graft: dl4j-spark's "
          + "workers place their network on whichever GPU ND4J picks, not the one Spark assigned the task");
    }
  }

  public static ParameterAveragingTrainingMaster trainingMaster(TrainingConfig t, int workers, String exportDir, long rngSeed) {
    return new ParameterAveragingTrainingMaster.Builder(workers, t.batchSizePerWorker())
        .batchSizePerWorker(t.batchSizePerWorker())
        .averagingFrequency(t.averagingFrequency())
        .workerPrefetchNumBatches(t.prefetch())
        .saveUpdater(true)
        // Graft persists the minibatch RDD itself; a second persist() at another level would throw.
        .storageLevel(null)
        .rngSeed(rngSeed)
        .rddTrainingApproach(t.approach() == TrainingConfig.Approach.EXPORT ? RDDTrainingApproach.Export : RDDTrainingApproach.Direct)
        .exportDirectory(exportDir)
        .trainingHooks(new KernelsHook())
        .build();
  }

  /**
   * Puts Graft's kernels on each worker's network before its minibatches: dl4j-spark builds the
   * workers' networks itself, so this is the first Graft code that sees them (a few reflective reads
   * per minibatch once they are on).
   */
  static final class KernelsHook implements TrainingHook {
    @Override
    public void preUpdate(DataSet minibatch, Model model) {
      GraftKernels.install(model);
    }

    @Override
    public void preUpdate(MultiDataSet minibatch, Model model) {
      GraftKernels.install(model);
    }

    @Override
    public void postUpdate(DataSet minibatch, Model model) {}

    @Override
    public void postUpdate(MultiDataSet minibatch, Model model) {}
  }
}

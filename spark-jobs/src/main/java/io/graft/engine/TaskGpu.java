package io.graft.engine;

import io.graft.config.ConfigException;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntConsumer;
import org.apache.spark.SparkConf;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Option;

/**
 * GPU executors: each task trains one network on the one GPU Spark assigned it.
 *
 * <p>With {@code spark.executor.resource.gpu.amount} and {@code spark.task.resource.gpu.amount=1},
 * Spark schedules one task per GPU and tells the task which one in {@link TaskContext#resources()}.
 * ND4J's CUDA backend, left alone, spreads threads over every device it sees, so two tasks of one
 * executor could land on one GPU. Every executor-side entry point that builds or borrows a
 * network ({@link NetworkPool}, {@link BroadcastNetwork}) first binds its thread here. Spark's GPU
 * address is taken as the CUDA device ordinal; the shipped discovery script reports
 * {@code nvidia-smi}'s indices, which are CUDA's ordinals when {@code CUDA_DEVICE_ORDER=PCI_BUS_ID}
 * (set by the shipped GPU configuration).
 */
public final class TaskGpu {
  private static final Logger LOG = LoggerFactory.getLogger(TaskGpu.class);
  /** (device, backend) pairs already logged by this executor, so the log says it once. */
  private static final Set<String> ANNOUNCED = ConcurrentHashMap.newKeySet();

  private TaskGpu() {}

  /**
   * Binds the calling task's thread to the GPU Spark assigned the task, if any.
   *
   * @return the device, or empty outside a task or when the task has no GPU
   * @throws IllegalStateException when the task holds several GPUs or an address that is not a device number
   */
  public static OptionalInt bind() {
    TaskContext task = TaskContext.get();
    if (task == null) {
      return OptionalInt.empty();
    }
    Option<ResourceInformation> gpu = task.resources().get("gpu");
    if (gpu.isEmpty()) {
      return OptionalInt.empty();
    }
    String backend = Nd4j.getBackend().getClass().getSimpleName();
    IntConsumer cuda = backend.startsWith("JCublas") ? device -> Nd4j.getAffinityManager().unsafeSetDevice(device) : null;
    return OptionalInt.of(bind(gpu.get().addresses(), backend, cuda,
        String.format("task %d (partition %d)", task.taskAttemptId(), task.partitionId())));
  }

  /**
   * The binding itself, apart from Spark's task context and ND4J's backend so that both sides can
   * be tested: the one device in {@code addresses} is handed to {@code cudaBinding} (ND4J's
   * affinity manager on the CUDA backend), or, on a CPU backend ({@code cudaBinding} null), only
   * reported.
   */
  static int bind(String[] addresses, String backend, IntConsumer cudaBinding, String task) {
    int device = device(addresses);
    if (cudaBinding != null) {
      cudaBinding.accept(device);
    }
    if (ANNOUNCED.add(device + "/" + backend)) {
      if (cudaBinding != null) {
        LOG.info("Graft: {} bound to GPU {} by Spark's assignment", task, device);
      } else {
        LOG.warn("Graft: {} was assigned GPU {} by Spark, but this build's ND4J backend is {} (CPU): it trains on "
            + "the CPU. Build with -Pcuda for GPU executors.", task, device, backend);
      }
    }
    return device;
  }

  /** The one CUDA device in a task's GPU addresses. */
  static int device(String[] addresses) {
    if (addresses.length != 1) {
      throw new IllegalStateException("Graft: a task was given " + addresses.length + " GPUs " + String.join(",", addresses)
          + "; each task trains one network on one GPU: set spark.task.resource.gpu.amount=1");
    }
    try {
      return Integer.parseInt(addresses[0].trim());
    } catch (NumberFormatException e) {
      throw new IllegalStateException("Graft: Spark assigned GPU address '" + addresses[0] + "', not a CUDA device number: the GPU "
          + "discovery script must report device indices (deploy/gpu/discover-gpus.sh does)");
    }
  }

  /**
   * Refuses, on the driver before any work, GPU settings Graft cannot honour: more than one GPU per
   * task (each task trains one network on one device), or tasks asking for GPUs the executors do
   * not have.
   *
   * @throws ConfigException naming the setting
   */
  public static void checkConf(SparkConf conf) {
    double task = amount(conf, "spark.task.resource.gpu.amount");
    double executor = amount(conf, "spark.executor.resource.gpu.amount");
    if (task > 1) {
      throw new ConfigException("spark.task.resource.gpu.amount is " + conf.get("spark.task.resource.gpu.amount")
          + ": Graft trains one network per task on one GPU; use 1 (one task per GPU) or a fraction (tasks share a GPU)");
    }
    if (task > 0 && executor <= 0) {
      throw new ConfigException("spark.task.resource.gpu.amount is set but spark.executor.resource.gpu.amount is not: executors "
          + "would have no GPU to give their tasks");
    }
  }

  private static double amount(SparkConf conf, String key) {
    if (!conf.contains(key)) {
      return 0;
    }
    try {
      return Double.parseDouble(conf.get(key).trim());
    } catch (NumberFormatException e) {
      throw new ConfigException(key + " is '" + conf.get(key) + "', not a number");
    }
  }
}

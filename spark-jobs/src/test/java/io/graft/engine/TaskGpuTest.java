package io.graft.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.graft.config.ConfigException;
import io.graft.config.TrainingConfig;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

/**
 * GPU settings a task or a driver can be given. Which GPU each task really gets from Spark is
 * checked on a standalone cluster with a GPU per worker in {@code LocalClusterIT}.
 */
class TaskGpuTest {
  @Test
  void aTaskTrainsOnTheOneDeviceSparkAssignedIt() {
    assertThat(TaskGpu.device(new String[] {"3"})).isEqualTo(3);
    assertThat(TaskGpu.device(new String[] {" 0 "})).isZero();
  }

  @Test
  void severalGpusInOneTaskOrANonNumericAddressIsRefusedWithTheSetting() {
    assertThatThrownBy(() -> TaskGpu.device(new String[] {"0", "1"})).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("given 2 GPUs 0,1").hasMessageContaining("spark.task.resource.gpu.amount=1");
    assertThatThrownBy(() -> TaskGpu.device(new String[] {"GPU-5f2a"})).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("'GPU-5f2a'").hasMessageContaining("discover-gpus.sh");
  }

  @Test
  void onCudaTheTasksThreadIsBoundToItsDeviceAndOnTheCpuBackendNothingIsBound() {
    List<Integer> bound = new ArrayList<>();
    assertThat(TaskGpu.bind(new String[] {"1"}, "JCublasBackend", bound::add, "task 7 (partition 1)")).isEqualTo(1);
    assertThat(TaskGpu.bind(new String[] {"0"}, "JCublasBackend", bound::add, "task 8 (partition 0)")).isZero();
    assertThat(bound).as("devices handed to ND4J's affinity manager").containsExactly(1, 0);
    assertThat(TaskGpu.bind(new String[] {"1"}, "CpuBackend", null, "task 9 (partition 1)")).isEqualTo(1);
    assertThatThrownBy(() -> TaskGpu.bind(new String[] {"0", "1"}, "JCublasBackend", bound::add, "task 10 (partition 0)"))
        .hasMessageContaining("given 2 GPUs");
    assertThat(bound).as("nothing bound for a refused assignment").containsExactly(1, 0);
  }

  @Test
  void outsideATaskNothingIsBound() {
    assertThat(TaskGpu.bind()).isEmpty();
  }

  @Test
  void driverRefusesGpuSettingsGraftCannotHonour() {
    assertThatCode(() -> TaskGpu.checkConf(new SparkConf(false))).doesNotThrowAnyException();
    assertThatCode(() -> TaskGpu.checkConf(gpus("1", "1"))).doesNotThrowAnyException();
    assertThatCode(() -> TaskGpu.checkConf(gpus("1", "0.25"))).doesNotThrowAnyException();
    assertThatThrownBy(() -> TaskGpu.checkConf(gpus("2", "2"))).isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("spark.task.resource.gpu.amount is 2: Graft trains one network per task on one GPU");
    assertThatThrownBy(() -> TaskGpu.checkConf(new SparkConf(false).set("spark.task.resource.gpu.amount", "1")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("spark.executor.resource.gpu.amount is not");
    assertThatThrownBy(() -> TaskGpu.checkConf(gpus("1", "one"))).isInstanceOf(ConfigException.class)
        .hasMessage("spark.task.resource.gpu.amount is 'one', not a number");
  }

  @Test
  void gpuExecutorsNeedGraftsOwnAveraging() {
    TrainingConfig dl4jSpark = TrainingConfig.defaults();
    assertThat(dl4jSpark.engine()).isEqualTo(TrainingConfig.Engine.DL4J_SPARK);
    assertThatThrownBy(() -> ParameterAveraging.requireGpuCapable(dl4jSpark, gpus("1", "1"))).isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("GPU executors (spark.task.resource.gpu.amount) need training.engine=graft");
    assertThatCode(() -> ParameterAveraging.requireGpuCapable(dl4jSpark, new SparkConf(false))).doesNotThrowAnyException();
    TrainingConfig graft = new TrainingConfig((Integer) null, null, null, null, null, null, null, null, null, TrainingConfig.Engine.GRAFT, null);
    assertThatCode(() -> ParameterAveraging.requireGpuCapable(graft, gpus("1", "1"))).doesNotThrowAnyException();
  }

  private static SparkConf gpus(String executor, String task) {
    return new SparkConf(false).set("spark.executor.resource.gpu.amount", executor).set("spark.task.resource.gpu.amount", task);
  }
}

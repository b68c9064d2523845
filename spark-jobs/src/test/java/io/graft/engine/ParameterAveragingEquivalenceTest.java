package io.graft.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.graft.config.OptimizerConfig;
import io.graft.config.TrainingConfig;
import io.graft.data.BadRecordPolicy;
import io.graft.model.Architectures;
import io.graft.model.ModelConfig;
import io.graft.spark.GraftDatasets;
import io.graft.testing.SparkTests;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.spark.api.RDDTrainingApproach;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

/**
 * Parameter averaging with one worker that averages after every minibatch must be plain
 * sequential training: same parameters as single-JVM {@code fit} on the same batches in the same
 * order. With Adam this holds only if the updater state and the iteration count travel with the
 * parameters (dl4j-spark's default {@code saveUpdater(false)} breaks it; see the second test).
 */
class ParameterAveragingEquivalenceTest {
  @TempDir Path dir;

  private List<DataSet> batches() {
    return GraftDatasets.miniBatches(SparkTests.spark().read().parquet(SparkTests.mnistTrain()).limit(32 * 25).coalesce(1), 32, 784, 10)
        .collect();
  }

  private MultiLayerNetwork freshNet() {
    MultiLayerConfiguration conf = Architectures.build(
        new ModelConfig(ModelConfig.Architecture.MLP, List.of(48), null, null, null, null, null), new int[] {1, 28, 28}, 10,
        OptimizerConfig.defaults(), 7L);
    MultiLayerNetwork net = new MultiLayerNetwork(conf);
    net.init();
    return net;
  }

  private INDArray sparkParams(List<DataSet> batches, boolean saveUpdater) {
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(SparkTests.spark().sparkContext());
    TrainingConfig t = new TrainingConfig(1, 32, 1, 0, 1, TrainingConfig.Approach.DIRECT, 7L, BadRecordPolicy.FAIL, 0L, TrainingConfig.Engine.DL4J_SPARK,
        TrainingConfig.Sync.AUTO);
    var master = ParameterAveraging.trainingMaster(t, 1, dir.resolve("export").toUri().toString(), 7L);
    if (!saveUpdater) {
      master = new ParameterAveragingTrainingMaster.Builder(1, 32)
          .batchSizePerWorker(32).averagingFrequency(1).workerPrefetchNumBatches(0).storageLevel(null)
          .rddTrainingApproach(RDDTrainingApproach.Direct).build();
    }
    SparkDl4jMultiLayer spark = new SparkDl4jMultiLayer(sc, freshNet(), master);
    for (DataSet ds : batches) {
      spark.fit(sc.parallelize(List.of(ds), 1));
    }
    return spark.getNetwork().params();
  }

  @Test
  void oneWorkerAveragingEveryStepEqualsSingleJvmFit() {
    List<DataSet> batches = batches();
    MultiLayerNetwork single = freshNet();
    for (DataSet ds : batches) {
      single.fit(ds);
    }
    INDArray distributed = sparkParams(batches, true);
    double maxDiff = single.params().sub(distributed).norm2Number().doubleValue();
    assertThat(maxDiff / single.params().norm2Number().doubleValue()).isLessThan(1e-5);
    // and training moved the parameters: the comparison is not between two untouched nets
    assertThat(single.params().sub(freshNet().params()).norm2Number().doubleValue()).isGreaterThan(0.1);
  }

  @Test
  void dl4jSparksDefaultDropsAdamStateAndDiverges() {
    List<DataSet> batches = batches();
    MultiLayerNetwork single = freshNet();
    for (DataSet ds : batches) {
      single.fit(ds);
    }
    INDArray upstreamDefault = sparkParams(batches, false);
    double rel = single.params().sub(upstreamDefault).norm2Number().doubleValue() / single.params().norm2Number().doubleValue();
    assertThat(rel).isGreaterThan(1e-3);
  }
}

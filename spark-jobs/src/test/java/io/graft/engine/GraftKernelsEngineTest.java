package io.graft.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.graft.config.OptimizerConfig;
import io.graft.config.TrainingConfig;
import io.graft.data.BadRecordPolicy;
import io.graft.model.Architectures;
import io.graft.model.GraftKernels;
import io.graft.model.ModelConfig;
import io.graft.spark.GraftDatasets;
import io.graft.testing.SparkTests;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;

/**
 * Both engines train with Graft's kernels on the executors: a LeNet with batch norm trained by one
 * worker that averages after every minibatch equals a single-JVM fit with {@link GraftKernels}, and
 * not one on DL4J's own layers.
 */
class GraftKernelsEngineTest {
  private static final long SEED = 11;
  private static List<DataSet> batches;
  @TempDir Path dir;

  @BeforeAll
  static void data() {
    batches = GraftDatasets.miniBatches(SparkTests.spark().read().parquet(SparkTests.mnistTrain()).limit(32 * 12).coalesce(1), 32, 784, 10)
        .collect();
  }

  private static MultiLayerNetwork freshNet() {
    MultiLayerNetwork net = new MultiLayerNetwork(Architectures.build(
        new ModelConfig(ModelConfig.Architecture.LENET, null, null, null, null, null, true), new int[] {1, 28, 28}, 10,
        OptimizerConfig.defaults(), 7L));
    net.init();
    return net;
  }

  private static MultiLayerNetwork singleJvm(boolean graftKernels, Iterable<DataSet> order) {
    MultiLayerNetwork net = freshNet();
    if (graftKernels) {
      assertThat(GraftKernels.install(net)).isEqualTo(new GraftKernels.Installed(2, 2, 1, 0, 2));
    }
    order.forEach(net::fit);
    return net;
  }

  private static double relativeDifference(INDArray a, INDArray b) {
    return a.sub(b).norm2Number().doubleValue() / a.norm2Number().doubleValue();
  }

  @Test
  void graftsAveragingTrainsWithGraftsKernels() {
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(SparkTests.spark().sparkContext());
    List<MultiDataSet> flat = new ArrayList<>();
    batches.forEach(ds -> flat.add(new org.nd4j.linalg.dataset.MultiDataSet(ds.getFeatures(), ds.getLabels())));
    JavaRDD<MultiDataSet> data = sc.parallelize(flat, 1).cache();
    MultiLayerNetwork distributed = freshNet();
    new SyncAveraging(distributed, 1, SEED).fitRound(sc, data, 1, 0, 0, null, null);
    List<DataSet> order = new ArrayList<>();
    for (int i : SyncAveraging.batchOrder(batches.size(), SEED, 1, 0)) {
      order.add(batches.get(i));
    }
    assertTrainedWithGraftsKernels(distributed.params(), order);
  }

  @Test
  void dl4jSparksWorkersTrainWithGraftsKernels() {
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(SparkTests.spark().sparkContext());
    TrainingConfig t = new TrainingConfig(1, 32, 1, 0, 1, TrainingConfig.Approach.DIRECT, 7L, BadRecordPolicy.FAIL, 0L,
        TrainingConfig.Engine.DL4J_SPARK, TrainingConfig.Sync.AUTO);
    SparkDl4jMultiLayer spark = new SparkDl4jMultiLayer(sc, freshNet(),
        ParameterAveraging.trainingMaster(t, 1, dir.resolve("export").toUri().toString(), 7L));
    for (DataSet ds : batches) {
      spark.fit(sc.parallelize(List.of(ds), 1));
    }
    assertTrainedWithGraftsKernels(spark.getNetwork().params(), batches);
  }

  private static void assertTrainedWithGraftsKernels(INDArray distributed, List<DataSet> order) {
    double graft = relativeDifference(singleJvm(true, order).params(), distributed);
    double dl4j = relativeDifference(singleJvm(false, order).params(), distributed);
    // the same kernels on the same minibatches in the same order: the same weights
    assertThat(graft).isLessThan(1e-6);
    assertThat(dl4j).as("DL4J's own batch norm trains to other weights").isGreaterThan(1e-5);
  }
}

package io.graft.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.graft.config.OptimizerConfig;
import io.graft.config.TrainingConfig;
import io.graft.model.Architectures;
import io.graft.model.ModelConfig;
import io.graft.spark.GraftDatasets;
import io.graft.testing.SparkTests;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;

/**
 * Graft's averaging engine against single-JVM DL4J: one worker must be plain sequential training
 * (Adam state and iteration count carried across steps), and with two workers a step's result
 * must be the mean of what each worker trained from the broadcast weights.
 */
class SyncAveragingTest {
  private static final long SEED = 11;

  private static List<DataSet> batches(int count) {
    return GraftDatasets.miniBatches(SparkTests.spark().read().parquet(SparkTests.mnistTrain()).limit(32 * count).coalesce(1), 32, 784, 10)
        .collect();
  }

  private static MultiLayerNetwork freshNet() {
    MultiLayerNetwork net = new MultiLayerNetwork(Architectures.build(
        new ModelConfig(ModelConfig.Architecture.MLP, List.of(48), null, null, null, null, null), new int[] {1, 28, 28}, 10,
        OptimizerConfig.defaults(), 7L));
    net.init();
    return net;
  }

  private static JavaRDD<MultiDataSet> rdd(List<List<DataSet>> partitions) {
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(SparkTests.spark().sparkContext());
    List<MultiDataSet> flat = new ArrayList<>();
    partitions.forEach(p -> p.forEach(ds -> flat.add(new org.nd4j.linalg.dataset.MultiDataSet(ds.getFeatures(), ds.getLabels()))));
    return sc.parallelize(flat, partitions.size()).cache();
  }

  private static double relativeDifference(INDArray a, INDArray b) {
    return a.sub(b).norm2Number().doubleValue() / a.norm2Number().doubleValue();
  }

  /** A barrier task's all-gather message carries its weights and updater state exactly, and everything else it reports. */
  @Test
  void anAllGatherMessageCarriesThePartialResultBitForBit() throws Exception {
    AveragingStep.Partial p = new AveragingStep.Partial();
    p.params = org.nd4j.linalg.factory.Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, 1, 1001);
    p.updater = org.nd4j.linalg.factory.Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, 1, 3000).get(
        org.nd4j.linalg.indexing.NDArrayIndex.point(0), org.nd4j.linalg.indexing.NDArrayIndex.interval(998, 3000)); // a view with an offset
    p.workers = 1;
    p.maxBatches = 7;
    p.losses = new AveragingStep.Losses(2);
    p.losses.lossSum = 3.5;
    p.checksums.add(42L);
    p.checksumList.add(42L);
    AveragingStep.Partial back = BarrierRounds.decode(BarrierRounds.encode(p));
    assertThat(back.params).isEqualTo(p.params);
    assertThat(back.params.shape()).containsExactly(1, 1001);
    assertThat(back.updater).isEqualTo(p.updater);
    assertThat(back.workers).isEqualTo(1);
    assertThat(back.maxBatches).isEqualTo(7);
    assertThat(back.losses.lossSum).isEqualTo(3.5);
    assertThat(back.checksums).containsExactly(42L);
    assertThat(p.params).as("the sender's own partial keeps its arrays").isNotNull();

    AveragingStep.Partial empty = BarrierRounds.decode(BarrierRounds.encode(new AveragingStep.Partial()));
    assertThat(empty.params).isNull();
    assertThat(empty.workers).isZero();
    AveragingStep.Partial doubles = new AveragingStep.Partial();
    doubles.params = org.nd4j.linalg.factory.Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.DOUBLE, 1, 5);
    assertThat(BarrierRounds.decode(BarrierRounds.encode(doubles)).params).isEqualTo(doubles.params);
  }

  @Test
  void oneWorkerIsSequentialTrainingAcrossAveragingSteps() {
    List<DataSet> batches = batches(20);
    JavaRDD<MultiDataSet> data = rdd(List.of(batches));
    MultiLayerNetwork distributed = freshNet();
    SyncAveraging engine = new SyncAveraging(distributed, 5, SEED);
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(SparkTests.spark().sparkContext());
    MultiLayerNetwork single = freshNet();
    for (int round = 1; round <= 2; round++) {
      SyncAveraging.RoundFit fit = engine.fitRound(sc, data, round, 0, 0, null, null);
      assertThat(fit.steps()).isEqualTo(4);
      assertThat(fit.examples()).isEqualTo(20 * 32);
      for (int i : SyncAveraging.batchOrder(batches.size(), SEED, round, 0)) {
        single.fit(batches.get(i));
      }
    }
    assertThat(relativeDifference(single.params(), distributed.params())).isLessThan(1e-5);
    assertThat(relativeDifference(single.getUpdater().getStateViewArray(), distributed.getUpdater().getStateViewArray())).isLessThan(1e-4);
    assertThat(relativeDifference(single.params(), freshNet().params())).as("training moved the weights").isGreaterThan(0.01);
  }

  @Test
  void twoWorkersAverageWhatEachTrainedFromTheBroadcastWeights() {
    List<DataSet> batches = batches(8);
    List<DataSet> first = batches.subList(0, 4);
    List<DataSet> second = batches.subList(4, 8);
    MultiLayerNetwork distributed = freshNet();
    SyncAveraging engine = new SyncAveraging(distributed, 4, SEED);
    List<SyncAveraging.Step> steps = new ArrayList<>();
    engine.fitRound(JavaSparkContext.fromSparkContext(SparkTests.spark().sparkContext()), rdd(List.of(first, second)), 1, 0, 0, null,
        steps::add);
    assertThat(steps).hasSize(1);
    assertThat(steps.get(0).workers()).isEqualTo(2);
    assertThat(steps.get(0).startChecksums()).containsExactly(steps.get(0).broadcastChecksum(), steps.get(0).broadcastChecksum());

    INDArray sum = null;
    INDArray updaterSum = null;
    int partition = 0;
    for (List<DataSet> part : List.of(first, second)) {
      MultiLayerNetwork worker = freshNet();
      for (int i : SyncAveraging.batchOrder(part.size(), SEED, 1, partition)) {
        worker.fit(part.get(i));
      }
      sum = sum == null ? worker.params().dup() : sum.addi(worker.params());
      updaterSum = updaterSum == null ? worker.getUpdater().getStateViewArray().dup() : updaterSum.addi(worker.getUpdater().getStateViewArray());
      partition++;
    }
    assertThat(relativeDifference(sum.divi(2), distributed.params())).isLessThan(1e-5);
    assertThat(relativeDifference(updaterSum.divi(2), distributed.getUpdater().getStateViewArray())).isLessThan(1e-4);
  }

  @Test
  void aBarrierRoundGivesExactlyTheWeightsOfOneJobPerAveragingStep() {
    // unequal partitions (parallelize splits 11 minibatches 5 / 6; averaging every 5): in the last step only one worker trains
    List<DataSet> batches = batches(11);
    JavaRDD<MultiDataSet> data = rdd(List.of(batches.subList(0, 5), batches.subList(5, 11)));
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(SparkTests.spark().sparkContext());
    SyncAveraging.Schedule decay = p -> new SyncAveraging.Knobs(0.01 / (1 + 10 * p), Double.NaN);
    SyncAveraging steps = new SyncAveraging(freshNet(), 5, SEED).sync(TrainingConfig.Sync.STEPS);
    SyncAveraging barrier = new SyncAveraging(freshNet(), 5, SEED).sync(TrainingConfig.Sync.BARRIER);
    assertThat(steps.usesBarrier(sc, data)).isFalse();
    assertThat(barrier.usesBarrier(sc, data)).isTrue();
    assertThat(new SyncAveraging(freshNet(), 5, SEED).usesBarrier(sc, data)).as("auto: a small MLP on 2 slots").isTrue();
    List<SyncAveraging.Step> stepLog = new ArrayList<>();
    List<SyncAveraging.Step> barrierLog = new ArrayList<>();
    for (int round = 1; round <= 2; round++) {
      SyncAveraging.RoundFit a = steps.fitRound(sc, data, round, (round - 1) / 2.0, round / 2.0, decay, stepLog::add);
      SyncAveraging.RoundFit b = barrier.fitRound(sc, data, round, (round - 1) / 2.0, round / 2.0, decay, barrierLog::add);
      assertThat(b.examples()).isEqualTo(a.examples()).isEqualTo(11 * 32);
      assertThat(b.steps()).isEqualTo(a.steps()).isEqualTo(2);
      assertThat(b.meanLoss()).isEqualTo(a.meanLoss());
      assertThat(b.lastKnobs().learningRate()).isEqualTo(a.lastKnobs().learningRate());
      // where the barrier tasks spent the round: every part measured, the shares of their summed time
      assertThat(a.taskTime()).isNull();
      assertThat(a.taskShares()).isEmpty();
      assertThat(b.taskTime().fitting()).isPositive();
      assertThat(b.taskTime().waiting()).as("the 5-minibatch task waits while the other fits its sixth").isPositive();
      assertThat(b.taskTime().averaging()).isPositive();
      assertThat(b.taskTime().total()).isLessThan(2 * b.wallSeconds());
      assertThat(b.taskShares().values().stream().mapToDouble(Double::doubleValue).sum()).isCloseTo(1.0, within(1e-9));
      assertThat(b.taskShares()).containsOnlyKeys("tasks_fitting_share", "tasks_waiting_share", "tasks_averaging_share");
    }
    INDArray p1 = steps.network().params();
    INDArray p2 = barrier.network().params();
    assertThat(SyncAveraging.checksum(p2)).as("bit for bit").isEqualTo(SyncAveraging.checksum(p1));
    assertThat(SyncAveraging.checksum(AveragingStep.updaterState(barrier.network())))
        .isEqualTo(SyncAveraging.checksum(AveragingStep.updaterState(steps.network())));
    assertThat(barrierLog).extracting(SyncAveraging.Step::workers).containsExactly(2, 1, 2, 1);
    assertThat(barrierLog).extracting(SyncAveraging.Step::iteration).isEqualTo(stepLog.stream().map(SyncAveraging.Step::iteration).toList());
    assertThat(relativeDifference(p1, freshNet().params())).as("training moved the weights").isGreaterThan(0.01);
  }

  @Test
  void aBarrierRoundThatLostAnExecutorIsRecognisedSoItCanRerunAsSteps() {
    // the failure Spark 3.5 reports when a worker dies during a barrier round (seen in LocalClusterIT)
    Exception lost = new IllegalStateException(new org.apache.spark.SparkException("Job aborted due to stage failure: Could not recover from a "
        + "failed barrier ResultStage. Most recent failure reason: Stage failed because barrier task ResultTask(15, 0) finished "
        + "unsuccessfully.\nExecutorLostFailure (executor 0 exited unrelated to the running tasks) Reason: worker lost: 127.0.0.1:35521 "
        + "got disassociated\nDriver stacktrace:"));
    assertThat(BarrierRounds.lostExecutor(lost)).isEqualTo("an executor (worker lost: 127.0.0.1:35521 got disassociated)");
    // a task that failed on its own is not a lost executor: the round fails with it
    assertThat(BarrierRounds.lostExecutor(new org.apache.spark.SparkException("Job aborted due to stage failure: Task 0 in stage 3.0 failed "
        + "4 times, most recent failure: java.lang.IllegalStateException: bad minibatch"))).isNull();
  }
}

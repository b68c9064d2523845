package io.graft.jobs.finetune;

import io.graft.config.ConfigException;
import io.graft.config.TrainingConfig;
import io.graft.engine.ParameterAveraging;
import io.graft.spark.GraftDatasets;
import io.graft.spark.GraftSpark;
import io.graft.store.Storage;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.nd4j.linalg.dataset.DataSet;

/**
 * The target's minibatches one fine-tuning run trains, validates and tests on, whatever the
 * network: the label budget drawn, the validation rows held out, the test set (the rest of the
 * training dataset when they are one), as persisted RDDs of minibatches.
 */
record FinetuneData(JavaSparkContext sc, int workers, Dataset<Row> labelled, JavaRDD<DataSet> train, JavaRDD<DataSet> validation,
    JavaRDD<DataSet> test, long trainCount, long valCount, long itersPerEpoch, long skippedRows) {

  static FinetuneData prepare(FinetuneConfig config, FinetunePlan plan, SparkSession spark, Storage storage) {
    TrainingConfig training = config.training();
    ParameterAveraging.requireSupported(training, spark.sparkContext());
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    int numClasses = plan.train().numClasses();
    int numFeatures = plan.train().numFeatures();
    int workers = ParameterAveraging.workers(training, sc);

    GraftSpark.jobGroup(spark, "graft-finetune", "finetune: preparing data");
    GraftDatasets.Checked trainChecked = GraftDatasets.check(GraftDatasets.read(spark, storage, config.data().train(), "target training"),
        numFeatures, numClasses, true, training.onBadRecord());
    GraftDatasets.Checked testChecked = GraftDatasets.check(GraftDatasets.read(spark, storage, config.data().test(), "target test"),
        numFeatures, numClasses, true, training.onBadRecord());
    Dataset<Row> labelled = trainChecked.rows();
    if (config.data().labelsPerClass() > 0) {
      labelled = GraftDatasets.stratified(labelled, config.data().labelsPerClass(), training.seed());
    }
    Dataset<Row> testRows = testChecked.rows();
    if (plan.testIsTrain()) {
      // One labelled dataset: a label budget trains, the rest is the test set (a multiset difference: duplicates stay).
      labelled = labelled.persist(StorageLevel.MEMORY_ONLY());
      testRows = testRows.exceptAll(labelled);
    }
    GraftDatasets.Split split = GraftDatasets.holdout(labelled, config.data().validationFraction(), training.seed());
    JavaRDD<DataSet> trainBatches = GraftDatasets.miniBatches(split.train().repartition(workers), training.batchSizePerWorker(), numFeatures,
        numClasses).persist(StorageLevel.MEMORY_ONLY());
    JavaRDD<DataSet> valBatches = GraftDatasets.miniBatches(split.heldOut(), 256, numFeatures, numClasses).persist(StorageLevel.MEMORY_ONLY());
    JavaRDD<DataSet> testBatches = GraftDatasets.miniBatches(testRows, 256, numFeatures, numClasses);
    long trainCount = GraftDatasets.countExamples(trainBatches);
    long valCount = GraftDatasets.countExamples(valBatches);
    ConfigException.require(trainCount > 0 && valCount > 0, "Too few target rows: %s for training and %s for validation", trainCount, valCount);
    long perStep = (long) training.batchSizePerWorker() * workers;
    long itersPerEpoch = Math.max(1, (trainCount + perStep - 1) / perStep);
    return new FinetuneData(sc, workers, plan.testIsTrain() ? labelled : null, trainBatches, valBatches, testBatches, trainCount, valCount,
        itersPerEpoch, trainChecked.skipped() + testChecked.skipped());
  }

  /** The line a run starts with. */
  String describe(FinetuneConfig config, FinetunePlan plan, int stages) {
    return String.format("%s from %s on %,d training / %,d validation rows (%d classes), %d stage(s), %d workers%s",
        config.stages().isEmpty() ? config.strategy() : "custom stages", config.source(), trainCount, valCount, plan.train().numClasses(),
        stages, workers, plan.testIsTrain() ? "; the test set is the rest of " + config.data().train() : "");
  }

  void unpersistTraining() {
    train.unpersist(false);
    validation.unpersist(false);
  }
}

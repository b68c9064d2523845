package io.graft.jobs.pretrain;

import static org.apache.spark.sql.functions.col;

import io.graft.diagnostics.LayerFeatures;
import io.graft.diagnostics.ProbeJob;
import io.graft.spark.GraftDatasets;
import io.graft.store.Storage;
import io.graft.surgery.Surgery;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;

/**
 * A linear probe held for a whole pre-training run: the labelled rows are sampled and cached once,
 * then each call extracts one layer's outputs of the current network and fits and scores a
 * logistic regression on them (see {@link PretrainConfig.Probe}).
 */
final class LinearProbe implements AutoCloseable {
  private final SparkSession spark;
  private final PretrainConfig.Probe probe;
  private final Dataset<Row> train;
  private final Dataset<Row> test;
  final long trainRows;
  final long testRows;

  LinearProbe(SparkSession spark, Storage storage, PretrainConfig.Probe probe, String testUri, long seed) {
    this.spark = spark;
    this.probe = probe;
    int parallelism = spark.sparkContext().defaultParallelism();
    Dataset<Row> labelled = GraftDatasets.read(spark, storage, probe.train(), "probe training").rows().filter(col(GraftDatasets.LABEL).geq(0));
    this.train = GraftDatasets.stratified(labelled, probe.labelsPerClass(), seed).coalesce(parallelism).persist(StorageLevel.MEMORY_AND_DISK());
    Dataset<Row> testAll = GraftDatasets.read(spark, storage, testUri, "probe test").rows().filter(col(GraftDatasets.LABEL).geq(0));
    this.test = GraftDatasets.capped(testAll, probe.maxTestRows(), seed).coalesce(parallelism).persist(StorageLevel.MEMORY_AND_DISK());
    this.trainRows = train.count();
    this.testRows = test.count();
  }

  /** Test accuracy of a logistic regression on the outputs of {@code layer} (a graph's vertex) of {@code network}. */
  double accuracy(Model network, String layer) {
    int index = network instanceof ComputationGraph g ? g.getConfiguration().getTopologicalOrderStr().indexOf(layer)
        : Surgery.indexOf((MultiLayerNetwork) network, layer, "probe");
    LayerFeatures.View view = new LayerFeatures.View(network, index, layer);
    Dataset<Row> tr = LayerFeatures.extract(spark, train, view).persist(StorageLevel.MEMORY_AND_DISK());
    Dataset<Row> te = LayerFeatures.extract(spark, test, view).persist(StorageLevel.MEMORY_AND_DISK());
    try {
      return ProbeJob.accuracy(tr, te, probe.regParam(), probe.maxIter());
    } finally {
      tr.unpersist(false);
      te.unpersist(false);
    }
  }

  @Override
  public void close() {
    train.unpersist(false);
    test.unpersist(false);
  }
}

package io.graft.jobs.finetune;

import io.graft.engine.BroadcastNetwork;
import io.graft.surgery.GraphCut;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.storage.StorageLevel;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

/**
 * The feature cache's executor side: every minibatch through a stage's frozen base, computed once
 * and kept in Spark storage, labels unchanged. The base ends below layer {@code layer} of a layer
 * stack, or at vertex {@code vertex} of a graph.
 */
final class FrozenBaseOutputs implements FlatMapFunction<Iterator<DataSet>, DataSet> {
  private final BroadcastNetwork shipped;
  private final int layer;
  private final String vertex;

  private FrozenBaseOutputs(BroadcastNetwork shipped, int layer, String vertex) {
    this.shipped = shipped;
    this.layer = layer;
    this.vertex = vertex;
  }

  /** The inputs of layer {@code k} of {@code net} for every minibatch, persisted. */
  static JavaRDD<DataSet> belowLayer(JavaSparkContext sc, MultiLayerNetwork net, int k, JavaRDD<DataSet> batches) {
    return batches.mapPartitions(new FrozenBaseOutputs(BroadcastNetwork.of(sc, net), k, null)).persist(StorageLevel.MEMORY_AND_DISK_SER());
  }

  /** The outputs of vertex {@code vertex} of {@code net} for every minibatch, as flat rows, persisted. */
  static JavaRDD<DataSet> atVertex(JavaSparkContext sc, ComputationGraph net, String vertex, JavaRDD<DataSet> batches) {
    return batches.mapPartitions(new FrozenBaseOutputs(BroadcastNetwork.of(sc, net), -1, vertex)).persist(StorageLevel.MEMORY_AND_DISK_SER());
  }

  @Override
  public Iterator<DataSet> call(Iterator<DataSet> batches) {
    if (!batches.hasNext()) {
      return Collections.emptyIterator();
    }
    Model net = shipped.model();
    List<DataSet> out = new ArrayList<>();
    while (batches.hasNext()) {
      DataSet ds = batches.next();
      INDArray features = vertex != null ? GraphCut.features((ComputationGraph) net, vertex, ds.getFeatures())
          : ((MultiLayerNetwork) net).feedForwardToLayer(layer - 1, ds.getFeatures(), false).get(layer);
      out.add(new DataSet(features.detach(), ds.getLabels()));
    }
    return out.iterator();
  }
}

package io.graft.model;

import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Floating-point operations of a network per example, counted from its weights and the shapes of
 * its activations, for measuring achieved GFLOP/s against the machine's gemm peak.
 *
 * <p>Counted: the multiply-adds of weighted layers (2 FLOPs each): a dense layer
 * {@code 2·nIn·nOut}, a convolution {@code 2·|W|·outH·outW}. A training step is the forward pass,
 * the weight gradients (as many FLOPs again) and the input gradients (again, except below the
 * first weighted layer, which has no input gradient to compute). Not counted: biases, activations,
 * pooling, batch norm, the loss and the updater, all linear in the activations or parameters and
 * a few percent of a convolution's work.
 */
public record Flops(List<LayerFlops> layers) {
  /** One weighted layer's forward and training-step FLOPs per example. */
  public record LayerFlops(String name, String kind, double forward, double training) {}

  public Flops {
    layers = List.copyOf(layers);
  }

  public double forward() {
    return layers.stream().mapToDouble(LayerFlops::forward).sum();
  }

  public double training() {
    return layers.stream().mapToDouble(LayerFlops::training).sum();
  }

  /**
   * Counts {@code net} (initialised) on one example of {@code exampleShape} (without the batch
   * dimension, as the network's input takes it: 784 for a flattened MNIST image).
   *
   * @throws IllegalArgumentException for a weighted layer that is neither dense nor a 2-D convolution
   */
  public static Flops of(MultiLayerNetwork net, long... exampleShape) {
    long[] shape = new long[exampleShape.length + 1];
    shape[0] = 1;
    System.arraycopy(exampleShape, 0, shape, 1, exampleShape.length);
    List<INDArray> activations = net.feedForward(Nd4j.zeros(DataType.FLOAT, shape), false);
    List<LayerFlops> out = new ArrayList<>();
    boolean first = true;
    for (int i = 0; i < net.getnLayers(); i++) {
      Layer layer = net.getLayer(i);
      INDArray w = layer.getParam("W");
      if (w == null) {
        continue;
      }
      INDArray act = activations.get(i + 1);
      String name = layer.conf().getLayer().getLayerName();
      double forward;
      String kind;
      if (act.rank() == 4) {
        forward = 2.0 * w.length() * act.size(2) * act.size(3);
        kind = "convolution";
      } else if (act.rank() == 2 && w.rank() == 2) {
        forward = 2.0 * w.length();
        kind = "dense";
      } else {
        throw new IllegalArgumentException("Cannot count FLOPs of layer '" + name + "' (" + layer.getClass().getSimpleName()
            + "): only dense layers and 2-D convolutions are counted");
      }
      out.add(new LayerFlops(name, kind, forward, forward * (first ? 2 : 3)));
      first = false;
    }
    return new Flops(out);
  }
}

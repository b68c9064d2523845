package io.graft.surgery;

import java.util.Map;
import java.util.Objects;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.samediff.SDLayerParams;
import org.deeplearning4j.nn.conf.layers.samediff.SameDiffLayer;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A bottleneck residual adapter (Houlsby et al.): {@code h + W_up · relu(W_down · h + b_down) + b_up}.
 * {@code W_up} and {@code b_up} start at zero, so a network with adapters inserted computes exactly
 * what it computed before, and fine-tuning starts from the pretrained function.
 *
 * <p>A SameDiff layer: its forward pass is declared once and DL4J derives the backward pass; it
 * serialises to the model's JSON (no-arg constructor, getters and setters) so it travels to Spark
 * workers and into {@code model.zip}.
 */
public class AdapterLayer extends SameDiffLayer {
  // No underscores: DL4J's updater splits gradient keys ("7_Wdown") at the last underscore.
  public static final String W_DOWN = "Wdown";
  public static final String B_DOWN = "bdown";
  public static final String W_UP = "Wup";
  public static final String B_UP = "bup";

  private long size;
  private long bottleneck;

  /** For JSON. */
  public AdapterLayer() {}

  public AdapterLayer(String name, long size, long bottleneck) {
    this.size = size;
    this.bottleneck = bottleneck;
    this.layerName = name;
    this.weightInit = WeightInit.XAVIER;
  }

  public long getSize() {
    return size;
  }

  public void setSize(long size) {
    this.size = size;
  }

  public long getBottleneck() {
    return bottleneck;
  }

  public void setBottleneck(long bottleneck) {
    this.bottleneck = bottleneck;
  }

  @Override
  public SDVariable defineLayer(SameDiff sd, SDVariable input, Map<String, SDVariable> params, SDVariable mask) {
    SDVariable down = sd.nn().relu(input.mmul(params.get(W_DOWN)).add(params.get(B_DOWN)), 0);
    return input.add(down.mmul(params.get(W_UP)).add(params.get(B_UP)));
  }

  @Override
  public void defineParameters(SDLayerParams params) {
    params.addWeightParam(W_DOWN, size, bottleneck);
    params.addBiasParam(B_DOWN, 1, bottleneck);
    params.addWeightParam(W_UP, bottleneck, size);
    params.addBiasParam(B_UP, 1, size);
  }

  @Override
  public void initializeParameters(Map<String, INDArray> params) {
    INDArray down = params.get(W_DOWN);
    down.assign(Nd4j.randn(down.dataType(), down.shape()).muli(Math.sqrt(2.0 / (size + bottleneck))));
    params.get(B_DOWN).assign(0);
    params.get(W_UP).assign(0);
    params.get(B_UP).assign(0);
  }

  @Override
  public InputType getOutputType(int layerIndex, InputType inputType) {
    return InputType.feedForward(size);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof AdapterLayer a && super.equals(o) && a.size == size && a.bottleneck == bottleneck;
  }

  @Override
  public int hashCode() {
    return Objects.hash(super.hashCode(), size, bottleneck);
  }
}

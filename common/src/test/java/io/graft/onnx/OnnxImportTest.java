package io.graft.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.graft.config.ConfigException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The ONNX import against ONNX Runtime on models PyTorch exported (fixtures written by
 * deploy/models/export_onnx.py): the same inputs give the same outputs, the imported graph trains
 * and survives DL4J's save and load, and what Graft cannot map is refused in one line.
 */
class OnnxImportTest {
  static byte[] fixture(String name) throws IOException {
    try (InputStream in = OnnxImportTest.class.getResourceAsStream("/onnx/" + name)) {
      return in.readAllBytes();
    }
  }

  /** Random pixels in [0, 1], batch first, channels first. */
  static float[] pixels(int rows, long[] shape, long seed) {
    long per = Arrays.stream(shape).reduce(1, (a, b) -> a * b);
    float[] x = new float[(int) (rows * per)];
    Random r = new Random(seed);
    for (int i = 0; i < x.length; i++) {
      x[i] = r.nextFloat();
    }
    return x;
  }

  /** ONNX Runtime's output for the rows (flat, row-major). */
  static float[][] onnxRuntime(byte[] model, float[] x, int rows, long[] shape) throws Exception {
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    try (OrtSession session = env.createSession(model, new OrtSession.SessionOptions())) {
      long[] full = new long[shape.length + 1];
      full[0] = rows;
      System.arraycopy(shape, 0, full, 1, shape.length);
      try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), full);
          OrtSession.Result out = session.run(Map.of(session.getInputNames().iterator().next(), in))) {
        return (float[][]) out.get(0).getValue();
      }
    }
  }

  /** What the imported graph computes where ONNX's output is: the logits before the added softmax, or the output. */
  static INDArray graft(OnnxImport.Result r, INDArray x) {
    ComputationGraph g = r.graph();
    if (!r.softmaxAdded()) {
      return g.outputSingle(false, x);
    }
    String out = g.getConfiguration().getNetworkOutputs().get(0);
    String below = g.getConfiguration().getVertexInputs().get(out).get(0);
    Map<String, INDArray> acts = g.feedForward(x, false);
    INDArray features = acts.get(below);
    return features.mmul(g.getParam(out + "_W")).addiRowVector(g.getParam(out + "_b"));
  }

  static double relativeError(float[][] expected, INDArray actual) {
    double max = Double.NEGATIVE_INFINITY;
    double min = Double.POSITIVE_INFINITY;
    double diff = 0;
    for (int i = 0; i < expected.length; i++) {
      for (int j = 0; j < expected[i].length; j++) {
        max = Math.max(max, expected[i][j]);
        min = Math.min(min, expected[i][j]);
        diff = Math.max(diff, Math.abs(expected[i][j] - actual.getDouble(i, j)));
      }
    }
    return diff / (max - min);
  }

  private static void matchesOnnxRuntime(String name, int rows) throws Exception {
    matchesOnnxRuntime(name, fixture(name + ".onnx"), rows);
  }

  private static void matchesOnnxRuntime(String name, byte[] bytes, int rows) throws Exception {
    OnnxImport.Result r = OnnxImport.convert(OnnxModel.parse(bytes, name), OnnxImport.InputSpec.identity());
    float[] x = pixels(rows, r.inputShape(), 7);
    float[][] expected = onnxRuntime(bytes, x, rows, r.inputShape());
    INDArray actual = graft(r, Nd4j.create(x, new long[] {rows, x.length / rows}, 'c'));
    assertThat(actual.shape()).containsExactly(rows, expected[0].length);
    assertThat(relativeError(expected, actual)).as(name + ": max |Graft - ONNX Runtime| / range of the outputs").isLessThan(1e-4);
  }

  @Test
  void aPyTorchCnnComputesWhatOnnxRuntimeComputes() throws Exception {
    matchesOnnxRuntime("mnist-cnn", 16);
  }

  /** Depthwise and dilated convolutions, batch norm, every activation, a squeeze-excitation product, per-channel constants, pooling with padding, concat, MatMul + Add, softmax. */
  @Test
  void everyMappedOperatorComputesWhatOnnxRuntimeComputes() throws Exception {
    matchesOnnxRuntime("ops", 8);
  }

  /** Grouped convolutions (2 and 4 groups, one strided with uneven padding), as channel subsets, convolutions and a concat. */
  @Test
  void groupedConvolutionsComputeWhatOnnxRuntimeComputes() throws Exception {
    matchesOnnxRuntime("grouped", 6);
    OnnxImport.Result r = OnnxImport.convert(OnnxModel.parse(fixture("grouped.onnx"), "grouped"), OnnxImport.InputSpec.identity());
    assertThat(r.graph().getConfiguration().getVertexInputs().get("strided")).containsExactly("strided.g0", "strided.g1", "strided.g2",
        "strided.g3");
    assertThat(r.graph().getLayer("strided.g1").getParam("W").shape()).containsExactly(4, 3, 3, 3);
    org.deeplearning4j.nn.conf.ComputationGraphConfiguration json =
        org.deeplearning4j.nn.conf.ComputationGraphConfiguration.fromJson(r.graph().getConfiguration().toJson());
    assertThat(json.getVertices().get("strided.in3")).as("saved and loaded").isInstanceOf(ChannelSubsetVertex.class);
    // why Graft's own subset: DL4J's counts from - to + 1 channels for images
    org.deeplearning4j.nn.conf.inputs.InputType images = org.deeplearning4j.nn.conf.inputs.InputType.convolutional(6, 6, 8);
    assertThat(((org.deeplearning4j.nn.conf.inputs.InputType.InputTypeConvolutional) new org.deeplearning4j.nn.conf.graph.SubsetVertex(4, 7)
        .getOutputType(0, images)).getChannels()).isEqualTo(-2);
    assertThat(((org.deeplearning4j.nn.conf.inputs.InputType.InputTypeConvolutional) new ChannelSubsetVertex(4, 7).getOutputType(0, images))
        .getChannels()).isEqualTo(4);
  }

  /**
   * ceil_mode: max and average pooling with the extra window at the end, overlapping and 2x2
   * windows, on a signed feature map (a max over padding would show there).
   */
  @Test
  void poolingWithCeilModeComputesWhatOnnxRuntimeComputes() throws Exception {
    matchesOnnxRuntime("ceil-pool", 6);
    // DL4J's windows that lie wholly in its padding are cropped: no NaN or infinity comes back from them in training
    ComputationGraph g = OnnxImport.convert(OnnxModel.parse(fixture("ceil-pool.onnx"), "ceil-pool"), OnnxImport.InputSpec.identity()).graph();
    INDArray labels = Nd4j.zeros(DataType.FLOAT, 6, 10);
    for (int i = 0; i < 6; i++) {
      labels.putScalar(i, i, 1);
    }
    g.setInputs(Nd4j.create(pixels(6, new long[] {1, 10, 10}, 3), new long[] {6, 100}, 'c'));
    g.setLabels(labels);
    g.computeGradientAndScore();
    for (String w : List.of("conv_W", "odd_W")) {
      INDArray gw = g.gradient().getGradientFor(w);
      assertThat(gw.isNaN().any() || gw.isInfinite().any()).as(w + " gradient finite").isFalse();
      assertThat(gw.amaxNumber().doubleValue()).as(w + " gradient").isGreaterThan(0);
    }
  }

  /**
   * Average pooling that counts its padding, where ceil_mode adds a window: Graft divides that
   * window by the input and padding it covers, as PyTorch and the ONNX spec do; ONNX Runtime before
   * opset 19 divides by the whole kernel (a known ONNX Runtime bug), so the reference here is PyTorch's own
   * output, recorded in the fixture.
   */
  @Test
  void averagePoolingThatCountsPaddingWithCeilModeComputesWhatPyTorchComputes() throws Exception {
    byte[] bytes = fixture("ceil-pool-padded.onnx");
    com.fasterxml.jackson.databind.JsonNode check = new com.fasterxml.jackson.databind.ObjectMapper().readTree(fixture("ceil-pool-padded.json"));
    float[] x = new float[check.get("check_input").size()];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) check.get("check_input").get(i).asDouble();
    }
    int rows = x.length / 100;
    float[][] torch = new float[rows][10];
    for (int i = 0; i < rows * 10; i++) {
      torch[i / 10][i % 10] = (float) check.get("check_output").get(i).asDouble();
    }
    OnnxImport.Result r = OnnxImport.convert(OnnxModel.parse(bytes, "ceil-pool-padded"), OnnxImport.InputSpec.identity());
    INDArray actual = graft(r, Nd4j.create(x, new long[] {rows, 100}, 'c'));
    assertThat(relativeError(torch, actual)).as("max |Graft - PyTorch| / range").isLessThan(1e-4);
    assertThat(relativeError(onnxRuntime(bytes, x, rows, r.inputShape()), actual)).as("ONNX Runtime's last window differs").isGreaterThan(1e-3);
  }

  /** torchvision's resnet18 (1-channel stem, random weights): residual adds, projection shortcuts, batch norm folded into convolutions. */
  @Test
  void torchvisionResnet18ComputesWhatOnnxRuntimeComputes() throws Exception {
    Path model = TorchFixtures.generated("resnet18");
    matchesOnnxRuntime("resnet18", Files.readAllBytes(model), 4);
    OnnxImport.Result r = OnnxImport.convert(OnnxModel.parse(Files.readAllBytes(model), "resnet18"), OnnxImport.InputSpec.identity());
    assertThat(r.graph().getConfiguration().getVertices().keySet()).contains("conv1", "layer1.0.conv1", "layer2.0.downsample.0", "layer4.1", "fc");
  }

  @Test
  void torchNamesBecomeVertexNamesAndShapeArithmeticBecomesAFlatten() throws Exception {
    OnnxImport.Result r = OnnxImport.convert(OnnxModel.parse(fixture("mnist-cnn.onnx"), "mnist-cnn"), OnnxImport.InputSpec.identity());
    assertThat(r.graph().getConfiguration().getTopologicalOrderStr())
        .containsSubsequence("input", "conv1", "maxpool", "conv2", "maxpool_1", "reshape", "fc1", "fc2");
    assertThat(r.nodeToVertex()).containsEntry("/conv1/Conv", "conv1").containsEntry("/Relu", "conv1").containsEntry("/fc2/Gemm", "fc2");
    assertThat(r.graph().getVertex("reshape").toString()).contains("Preprocessor");
    assertThat(r.softmaxAdded()).isTrue();
  }

  @Test
  void theImportedGraphSavesLoadsAndTrains() throws Exception {
    OnnxImport.Result r = OnnxImport.convert(OnnxModel.parse(fixture("ops.onnx"), "ops"), OnnxImport.InputSpec.identity());
    ComputationGraph g = r.graph();
    ByteArrayOutputStream zip = new ByteArrayOutputStream();
    ModelSerializer.writeModel(g, zip, true);
    ComputationGraph back = ModelSerializer.restoreComputationGraph(new ByteArrayInputStream(zip.toByteArray()), true);
    INDArray x = Nd4j.create(pixels(6, r.inputShape(), 3), new long[] {6, 3 * 16 * 16}, 'c');
    assertThat(back.outputSingle(x).sub(g.outputSingle(x)).amaxNumber().doubleValue()).isLessThan(1e-6);

    INDArray labels = Nd4j.zeros(DataType.FLOAT, 6, 5);
    for (int i = 0; i < 6; i++) {
      labels.putScalar(i, i % 5, 1);
    }
    DataSet batch = new DataSet(x, labels);
    double before = back.score(batch);
    List<String> layers = List.of("stem", "depthwise", "dilated", "bn", "se_reduce", "se_expand", "branch", "matmul", "head");
    Map<String, INDArray> start = new java.util.HashMap<>();
    for (String layer : layers) {
      start.put(layer, back.getVertex(layer).params().dup());
    }
    for (int i = 0; i < 20; i++) {
      back.fit(batch);
    }
    assertThat(back.score(batch)).as("loss after 20 steps on one batch").isLessThan(before);
    for (String layer : layers) { // gradients reach every layer, through the broadcast product and the hard activations
      assertThat(back.getVertex(layer).params().sub(start.get(layer)).amaxNumber().doubleValue()).as(layer + " moved").isGreaterThan(0);
    }
  }

  @Test
  void inputNormalisationIsPartOfTheGraph() throws Exception {
    byte[] bytes = fixture("mnist-cnn.onnx");
    OnnxModel m = OnnxModel.parse(bytes, "mnist-cnn");
    OnnxImport.Result plain = OnnxImport.convert(m, OnnxImport.InputSpec.identity());
    OnnxImport.Result normalised = OnnxImport.convert(m, new OnnxImport.InputSpec(255, new double[] {0.1307 * 255}, new double[] {0.3081 * 255}));
    float[] x = pixels(4, plain.inputShape(), 5);
    INDArray graftRows = Nd4j.create(x, new long[] {4, 784}, 'c');
    INDArray byHand = graftRows.sub(0.1307).divi(0.3081);
    assertThat(graft(normalised, graftRows).sub(graft(plain, byHand)).amaxNumber().doubleValue()).isLessThan(1e-4);
  }

  @Test
  void anAttributeGraftCannotMapIsRefusedByNodeAndAttribute() throws Exception {
    assertThatThrownBy(() -> OnnxImport.convert(OnnxModel.parse(fixture("ceil-pool-edge.onnx"), "ceil-pool-edge"), OnnxImport.InputSpec.identity()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("'/MaxPool'").hasMessageContaining("ceil_mode=1").hasMessageNotContaining("\n");
  }

  @Test
  void anOperatorGraftCannotMapIsRefusedByNameAndNode() throws Exception {
    assertThatThrownBy(() -> OnnxImport.convert(OnnxModel.parse(fixture("gelu.onnx"), "gelu"), OnnxImport.InputSpec.identity()))
        .isInstanceOf(ConfigException.class).hasMessageStartingWith("ONNX node '/Erf' (Erf): operator not supported")
        .hasMessageNotContaining("\n");
  }

  @Test
  void aTruncatedOrForeignFileIsRefusedInOneLine() throws Exception {
    byte[] bytes = fixture("mnist-cnn.onnx");
    assertThatThrownBy(() -> OnnxModel.parse(Arrays.copyOf(bytes, bytes.length / 2), "half.onnx"))
        .isInstanceOf(ConfigException.class).hasMessageStartingWith("half.onnx is not a readable ONNX model").hasMessageNotContaining("\n");
    byte[] json = fixture("mnist-cnn.json");
    assertThatThrownBy(() -> OnnxModel.parse(json, "model.onnx"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("model.onnx is not").hasMessageNotContaining("\n");
  }
}

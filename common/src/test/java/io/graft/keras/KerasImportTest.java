package io.graft.keras;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.graft.config.ConfigException;
import io.graft.onnx.OnnxImport.InputSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.modelimport.keras.Hdf5Archive;
import org.deeplearning4j.nn.modelimport.keras.KerasModelImport;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;

/**
 * Keras models written by Keras itself (DL4J's Keras-import test files, see
 * src/test/resources/keras/README.md), imported into graphs that read Graft's rows: they give the
 * predictions Keras recorded when it saved them, train, and refuse what they cannot hold in one line.
 */
class KerasImportTest {
  static final Path FIXTURES = Path.of("src", "test", "resources", "keras").toAbsolutePath();

  @TempDir Path dir;

  private static KerasImport.Result convert(String file, Integer classes) {
    return KerasImport.convert(FIXTURES.resolve(file), file, InputSpec.identity(), classes, 7);
  }

  @Test
  void aChannelLastCnnWithBatchNormGivesTheKerasPredictionsOnGraftsChannelFirstRows() {
    KerasImport.Result r = convert("cnn_batch_norm.h5", null);
    // what Keras 2.1.3 predicted for these five 10 x 10 x 3 inputs when it saved the model (predict.py beside the file)
    INDArray nhwc = Nd4j.createFromNpyFile(FIXTURES.resolve("cnn_batch_norm_input.npy").toFile()).castTo(DataType.FLOAT);
    INDArray expected = Nd4j.createFromNpyFile(FIXTURES.resolve("cnn_batch_norm_predictions.npy").toFile()).castTo(DataType.FLOAT);
    INDArray chwRows = nhwc.permute(0, 3, 1, 2).dup('c').reshape(5, 300);

    INDArray out = r.graph().outputSingle(chwRows);
    assertThat(out.sub(expected).amaxNumber().doubleValue()).as("largest difference from Keras").isLessThan(1e-5);
    // the same pixels in Keras's own channel-last order are not what the graph reads: the permutation is there
    INDArray hwcRows = nhwc.dup('c').reshape(5, 300);
    assertThat(r.graph().outputSingle(hwcRows).sub(expected).amaxNumber().doubleValue()).isGreaterThan(1e-3);

    assertThat(r.inputShape()).containsExactly(10, 10, 3);
    assertThat(r.kerasVersion()).isEqualTo("2.1.3");
    assertThat(r.backend()).isEqualTo("tensorflow");
    assertThat(r.modelClass()).isEqualTo("Sequential");
    assertThat(r.layerToVertex()).containsEntry("conv2d_1", "conv2d_1").containsEntry("batch_normalization_1", "batch_normalization_1")
        .containsEntry("dense_1", "dense_1").containsKey("flatten_1");
    assertThat(r.notes()).anyMatch(n -> n.contains("one linear unit (a regression)"));
    assertThat(r.graph().getLayer("dense_1").conf().getLayer()).isInstanceOf(OutputLayer.class);
  }

  @Test
  void aKerasClassifierScoresWhatKerasPredictedAndTrainsWithCrossEntropy() throws Exception {
    KerasImport.Result r = convert("simple_sparse_xent_mlp_keras_2_model.h5", null);
    INDArray in;
    INDArray predicted;
    try (Hdf5Archive recorded = new Hdf5Archive(FIXTURES.resolve("simple_sparse_xent_mlp_keras_2_inputs_and_outputs.h5").toString())) {
      in = recorded.readDataSet("dense_1_input", "inputs").castTo(DataType.FLOAT);
      predicted = recorded.readDataSet("activation_1", "predictions").castTo(DataType.FLOAT);
    }
    ComputationGraph graph = r.graph();
    assertThat(graph.outputSingle(in).sub(predicted).amaxNumber().doubleValue()).isLessThan(1e-5);

    // Dense + Activation('softmax') is one softmax output layer trained with cross-entropy
    OutputLayer head = (OutputLayer) graph.getLayer("dense_1").conf().getLayer();
    assertThat(head.getActivationFn()).isInstanceOf(ActivationSoftmax.class);
    assertThat(head.getLossFn()).isInstanceOf(LossMCXENT.class);
    assertThat(graph.getVertex("activation_1")).isNull();
    assertThat(r.layerToVertex()).containsEntry("activation_1", "dense_1");

    // it trains: fitting Keras's own predicted classes lowers the loss; and it saves as a plain DL4J zip
    INDArray labels = Nd4j.zeros(DataType.FLOAT, 3, 3);
    INDArray argmax = predicted.argMax(1);
    for (int i = 0; i < 3; i++) {
      labels.putScalar(i, argmax.getInt(i), 1);
    }
    DataSet batch = new DataSet(in, labels);
    double before = graph.score(batch);
    for (int i = 0; i < 20; i++) {
      graph.fit(batch);
    }
    assertThat(graph.score(batch)).isLessThan(before);
    Path zip = dir.resolve("model.zip");
    ModelSerializer.writeModel(graph, zip.toFile(), true);
    assertThat(ModelSerializer.restoreComputationGraph(zip.toFile()).outputSingle(in)).isEqualTo(graph.outputSingle(in));
  }

  @Test
  void aTrunkGetsANewClassifierOnlyWhenAskedAndKeepsItsKerasWeights() throws Exception {
    assertThatThrownBy(() -> convert("wgan_discriminator.h5", null)).isInstanceOf(ConfigException.class)
        .hasMessageContaining("ends in DropoutLayer 'dropout_4', not a classifier: give --classes N");

    KerasImport.Result r = convert("wgan_discriminator.h5", 10);
    ComputationGraph graph = r.graph();
    assertThat(graph.getOutputLayer(0).getParam("W").shape()).containsExactly(4 * 4 * 128, 10);
    assertThat(r.notes()).anyMatch(n -> n.contains("new 10-class softmax layer 'output'"));
    MultiLayerNetwork keras = KerasModelImport.importKerasSequentialModelAndWeights(FIXTURES.resolve("wgan_discriminator.h5").toString(), false);
    for (String layer : new String[] {"conv2d_1", "batch_normalization_2", "conv2d_4"}) {
      assertThat(graph.getLayer(layer).params()).as(layer).isEqualTo(keras.getLayer(layer).params());
    }
    INDArray digits = Nd4j.rand(DataType.FLOAT, 4, 28 * 28);
    assertThat(graph.outputSingle(digits).shape()).containsExactly(4, 10);
    assertThat(r.inputShape()).containsExactly(28, 28, 1);

    assertThatThrownBy(() -> convert("simple_sparse_xent_mlp_keras_2_model.h5", 5)).isInstanceOf(ConfigException.class)
        .hasMessageContaining("--classes is for a Keras model without a classifier at its end");
  }

  /** A functional model (tf.keras 2.2.4: Input, Dense, Activation, Dropout) goes the same way as a Sequential one. */
  @Test
  void aFunctionalModelKeepsItsWeightsAndOutputs() throws Exception {
    KerasImport.Result r = convert("tfkeras_mlp_0.h5", 2);
    assertThat(r.modelClass()).isEqualTo("Model");
    assertThat(r.layerToVertex()).containsEntry("input_1", KerasImport.INPUT).containsEntry("dense", "dense");
    ComputationGraph keras = KerasModelImport.importKerasModelAndWeights(FIXTURES.resolve("tfkeras_mlp_0.h5").toString(), false);
    assertThat(r.graph().getLayer("dense").params()).isEqualTo(keras.getLayer("dense").params());
    INDArray rows = Nd4j.rand(DataType.FLOAT, 5, 3);
    // below the new head the graph computes what DL4J's own import of the file computes
    assertThat(r.graph().feedForward(rows, false).get("activation")).isEqualTo(keras.feedForward(rows, false).get("activation"));
    assertThat(r.graph().outputSingle(rows).shape()).containsExactly(5, 2);
  }

  @Test
  void whatCannotBeImportedIsRefusedInOneLineNamingIt() throws Exception {
    assertThatThrownBy(() -> convert("sequential_lambda.h5", null)).isInstanceOf(ConfigException.class)
        .hasMessage("Keras layer 'lambda_1' (Lambda) cannot be imported: a Lambda layer is Python code the file does not hold; rebuild the "
            + "model without it");
    assertThatThrownBy(() -> convert("simple_sparse_xent_mlp_keras_2_weights.h5", null)).isInstanceOf(ConfigException.class)
        .hasMessageContaining("has weights but no model configuration (a Keras save_weights file)");
    Path zip = dir.resolve("model.keras");
    Files.write(zip, new byte[] {'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0});
    assertThatThrownBy(() -> KerasImport.convert(zip, "model.keras", InputSpec.identity(), null, 1)).isInstanceOf(ConfigException.class)
        .hasMessageContaining("model.keras is a zip archive (a Keras 3 .keras file?), not HDF5");
    Path csv = dir.resolve("model.h5");
    Files.writeString(csv, "col1,col2\n1,2\n");
    assertThatThrownBy(() -> KerasImport.convert(csv, "model.h5", InputSpec.identity(), null, 1)).isInstanceOf(ConfigException.class)
        .hasMessageContaining("model.h5 is not an HDF5 file");
    assertThatThrownBy(() -> KerasImport.convert(FIXTURES.resolve("simple_sparse_xent_mlp_keras_2_model.h5"), "mlp.h5",
        new InputSpec(255, new double[0], new double[0]), null, 1)).isInstanceOf(ConfigException.class)
        .hasMessageContaining("--input-scale/--mean/--std apply to image inputs");
    assertThatThrownBy(() -> KerasImport.convert(FIXTURES.resolve("cnn_batch_norm.h5"), "cnn.h5",
        new InputSpec(1, new double[] {0.5, 0.5}, new double[0]), null, 1)).isInstanceOf(ConfigException.class)
        .hasMessageContaining("--mean has 2 values; the model's input has 3 channels");
  }
}

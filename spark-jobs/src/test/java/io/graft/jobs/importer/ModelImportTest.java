package io.graft.jobs.importer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.graft.cli.GraftCli;
import io.graft.data.BadRecordPolicy;
import io.graft.diagnostics.EvaluateJob;
import io.graft.jobs.ExitStatus;
import io.graft.jobs.JobMain;
import io.graft.testing.SparkTests;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code graft import-model} from the command's options to a model folder Graft's jobs read: a CNN
 * PyTorch trained on MNIST scores in Graft what PyTorch measured when it exported it, and bad
 * input is refused in one line with exit status 2, leaving nothing written and an existing
 * output untouched.
 */
class ModelImportTest {
  static final Path FIXTURES = Path.of("..", "common", "src", "test", "resources", "onnx").toAbsolutePath().normalize();
  static final Path KERAS = Path.of("..", "common", "src", "test", "resources", "keras").toAbsolutePath().normalize();

  @TempDir Path dir;

  record Run(int code, String err) {}

  private static synchronized Run run(Supplier<Integer> body) {
    PrintStream oldErr = System.err;
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    try {
      System.setErr(new PrintStream(err, true));
      return new Run(body.get(), err.toString());
    } finally {
      System.setErr(oldErr);
    }
  }

  private static Run importModel(String... args) {
    return run(() -> JobMain.run(ModelImportJob.JOB, args));
  }

  @Test
  void aPyTorchTrainedCnnScoresInGraftWhatPyTorchMeasured() throws Exception {
    JsonNode exported = new ObjectMapper().readTree(FIXTURES.resolve("mnist-cnn.json").toFile());
    Path out = dir.resolve("mnist-cnn");
    Run r = importModel("--format", "onnx", "--input", FIXTURES.resolve("mnist-cnn.onnx").toUri().toString(), "--output", out.toString(),
        "--mean", "0.1307", "--std", "0.3081");
    assertThat(r.code()).as(r.err()).isZero();

    JsonNode provenance = new ObjectMapper().readTree(out.resolve("provenance.json").toFile());
    assertThat(provenance.path("source").path("sha256").asText()).isEqualTo(exported.path("sha256").asText());
    assertThat(provenance.path("source").path("producer").asText()).isEqualTo("pytorch 1.13.0");
    assertThat(provenance.path("source").path("opset").asInt()).isEqualTo(13);
    assertThat(provenance.path("input").path("mean").get(0).asDouble()).isEqualTo(0.1307);
    assertThat(provenance.path("nodeToVertex").path("/fc2/Gemm").asText()).isEqualTo("fc2");

    EvaluateJob.Output eval = EvaluateJob.run(new EvaluateJob.Request(out.toString(), SparkTests.mnistTestAll(), null, BadRecordPolicy.FAIL),
        SparkTests.spark());
    assertThat(eval.rows()).isEqualTo(exported.path("test_rows").asLong());
    // PyTorch's own figure on the same 10,000 images, within 0.02 points (two images)
    assertThat(Math.abs(eval.accuracy() - exported.path("test_accuracy").asDouble())).isLessThanOrEqualTo(0.0002);

    // without the normalisation the source was trained with, the same weights score worse: the input spec is applied
    Path raw = dir.resolve("mnist-cnn-unnormalised");
    assertThat(importModel("--format", "onnx", "--input", FIXTURES.resolve("mnist-cnn.onnx").toString(), "--output", raw.toString()).code()).isZero();
    double unnormalised = EvaluateJob.run(new EvaluateJob.Request(raw.toString(), SparkTests.mnistTestAll(), null, BadRecordPolicy.FAIL),
        SparkTests.spark()).accuracy();
    assertThat(unnormalised).isLessThan(eval.accuracy() - 0.01);

    // the zip is plain DL4J
    ComputationGraph g = ModelSerializer.restoreComputationGraph(out.resolve("model.zip").toFile(), false);
    assertThat(g.numParams()).isEqualTo(20_522);

    // graft inspect shows its vertices, what feeds each, and the parameter groups fine-tuning uses
    PrintStream oldOut = System.out;
    ByteArrayOutputStream shown = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(shown, true));
      assertThat(GraftCli.run("inspect", out.toString())).isZero();
    } finally {
      System.setOut(oldOut);
    }
    assertThat(shown.toString()).contains("input.shift", "conv1", "ConvolutionLayer", "fc2", "OutputLayer", "20,522 trainable",
        "groups (bottom to top): conv1 (1), conv2 (1), fc1 (1), fc2 (1)");
  }

  /**
   * A Keras classifier (Dense + softmax, written by Keras 2.3.1) from any filesystem URI: provenance names Keras and the file,
   * the zip scores what Keras predicted on the rows Keras recorded; a Lambda model and a trunk without --classes are refused
   * in one line, nothing written.
   */
  @Test
  void aKerasModelBecomesAGraftModelFolder() throws Exception {
    Path keras = KERAS.resolve("simple_sparse_xent_mlp_keras_2_model.h5");
    Path out = dir.resolve("keras-mlp");
    Run r = importModel("--format", "keras", "--input", keras.toUri().toString(), "--output", out.toString());
    assertThat(r.code()).as(r.err()).isZero();
    JsonNode provenance = new ObjectMapper().readTree(out.resolve("provenance.json").toFile());
    assertThat(provenance.path("source").path("format").asText()).isEqualTo("keras");
    assertThat(provenance.path("source").path("producer").asText()).isEqualTo("keras 2.3.1");
    assertThat(provenance.path("source").path("backend").asText()).isEqualTo("tensorflow");
    assertThat(provenance.path("source").path("bytes").asLong()).isEqualTo(Files.size(keras));
    assertThat(provenance.path("input").path("shape").toString()).isEqualTo("[4]");
    assertThat(provenance.path("layerToVertex").path("activation_1").asText()).isEqualTo("dense_1");

    ComputationGraph graph = ModelSerializer.restoreComputationGraph(out.resolve("model.zip").toFile(), false);
    try (var recorded = new org.deeplearning4j.nn.modelimport.keras.Hdf5Archive(
        KERAS.resolve("simple_sparse_xent_mlp_keras_2_inputs_and_outputs.h5").toString())) {
      var in = recorded.readDataSet("dense_1_input", "inputs").castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT);
      var predicted = recorded.readDataSet("activation_1", "predictions").castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT);
      assertThat(graph.outputSingle(in).sub(predicted).amaxNumber().doubleValue()).isLessThan(1e-5);
    }

    Files.createDirectories(dir.resolve("kept"));
    Files.writeString(dir.resolve("kept").resolve("keep.txt"), "an earlier model");
    Object[][] refused = {
        {"sequential_lambda.h5", new String[0], "Keras layer 'lambda_1' (Lambda) cannot be imported"},
        {"wgan_discriminator.h5", new String[0], "ends in DropoutLayer 'dropout_4', not a classifier: give --classes N"},
        {"simple_sparse_xent_mlp_keras_2_weights.h5", new String[0], "has weights but no model configuration"},
    };
    for (Object[] c : refused) {
      List<String> args = new java.util.ArrayList<>(List.of("--format", "keras", "--input", KERAS.resolve((String) c[0]).toString(), "--output",
          dir.resolve("kept").toString()));
      args.addAll(List.of((String[]) c[1]));
      Run bad = importModel(args.toArray(String[]::new));
      assertThat(bad.code()).as(bad.err()).isEqualTo(ExitStatus.BAD_INPUT);
      String[] lines = bad.err().strip().lines().filter(l -> l.startsWith("graft:")).toArray(String[]::new);
      assertThat(lines).as(bad.err()).hasSize(1);
      assertThat(lines[0]).contains((String) c[2]);
      assertThat(dir.resolve("kept").resolve("keep.txt")).hasContent("an earlier model");
    }
  }

  @Test
  void badSourcesAreRefusedInOneLineAndNothingIsWritten() throws Exception {
    Path out = dir.resolve("model");
    Files.createDirectories(out);
    Files.writeString(out.resolve("keep.txt"), "an earlier model");
    byte[] cnn = Files.readAllBytes(FIXTURES.resolve("mnist-cnn.onnx"));
    Path truncated = dir.resolve("truncated.onnx");
    Files.write(truncated, Arrays.copyOf(cnn, cnn.length / 3));
    Path notOnnx = dir.resolve("weights.onnx");
    Files.writeString(notOnnx, "col1,col2\n1,2\n");
    Object[][] cases = {
        {truncated, "is not a readable ONNX model"},
        {notOnnx, "is not"},
        {FIXTURES.resolve("gelu.onnx"), "ONNX node '/Erf' (Erf): operator not supported"},
        {FIXTURES.resolve("ceil-pool-edge.onnx"), "attribute ceil_mode=1 starts the last row's window in the end padding"},
        {dir.resolve("missing.onnx"), "missing.onnx"},
    };
    for (Object[] c : cases) {
      Run r = importModel("--format", "onnx", "--input", c[0].toString(), "--output", out.toString());
      assertThat(r.code()).as(c[0] + ": " + r.err()).isEqualTo(ExitStatus.BAD_INPUT);
      String[] lines = r.err().strip().lines().filter(l -> l.startsWith("graft:")).toArray(String[]::new);
      assertThat(lines).as(r.err()).hasSize(1);
      assertThat(lines[0]).contains((String) c[1]);
      assertThat(out.resolve("keep.txt")).as("the existing output is left as it was").hasContent("an earlier model");
      assertThat(out.resolve("model.zip")).doesNotExist();
    }
    try (var left = Files.list(dir)) {
      assertThat(left.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith("._staging"));
    }

    Run keras = importModel("--format", "keras", "--input", truncated.toString(), "--output", out.toString());
    assertThat(keras.code()).isEqualTo(ExitStatus.BAD_INPUT);
    assertThat(keras.err()).contains("truncated.onnx is not an HDF5 file");
    Run format = importModel("--format", "caffe", "--input", truncated.toString(), "--output", out.toString());
    assertThat(format.err()).contains("--format must be onnx or keras, cannot be: caffe");
    Run classes = importModel("--format", "onnx", "--input", FIXTURES.resolve("mnist-cnn.onnx").toString(), "--output", out.toString(),
        "--classes", "5");
    assertThat(classes.code()).isEqualTo(ExitStatus.BAD_INPUT);
    assertThat(classes.err()).contains("--classes applies to --format keras");
    Run mean = importModel("--format", "onnx", "--input", FIXTURES.resolve("mnist-cnn.onnx").toString(), "--output", out.toString(),
        "--mean", "0.4,0.4,0.4");
    assertThat(mean.code()).isEqualTo(ExitStatus.BAD_INPUT);
    assertThat(mean.err()).contains("--mean has 3 values; the model's input has 1 channels");
  }
}

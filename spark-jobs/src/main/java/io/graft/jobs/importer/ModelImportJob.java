package io.graft.jobs.importer;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.graft.config.ConfigException;
import io.graft.config.Input;
import io.graft.jobs.Job;
import io.graft.jobs.JobArgs;
import io.graft.jobs.JobMain;
import io.graft.keras.KerasImport;
import io.graft.onnx.OnnxImport;
import io.graft.onnx.OnnxModel;
import io.graft.store.Provenance;
import io.graft.store.Storage;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.UUID;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import picocli.CommandLine.Option;

/**
 * {@code graft import-model}: a model trained elsewhere (ONNX, Keras HDF5), as a Graft model folder
 * ({@code model.zip}, a DL4J ComputationGraph, and {@code provenance.json}: the source file's size and
 * SHA-256, its producer (and opset, or Keras backend), the input the model expects and which ONNX node
 * or Keras layer became which vertex). Reads
 * from any Hadoop filesystem; converts completely before writing anything, and writes the folder
 * under a staging name renamed into place. No Spark.
 */
public final class ModelImportJob {
  private ModelImportJob() {}

  /** Source formats. */
  public enum Format { ONNX, KERAS }

  /**
   * @param input the source model file (any Hadoop URI)
   * @param output the Graft model folder to write (replaced atomically)
   * @param scale the value the source model reads for a white pixel (Graft's pixels are in [0, 1])
   * @param mean per-channel mean the source model subtracts (after scaling), one value or one per channel
   * @param std per-channel standard deviation it divides by
   */
  public record Request(Format format, String input, String output, double scale, double[] mean, double[] std, Integer classes) {
    public Request {
      ConfigException.require(scale > 0, "--input-scale must be positive, cannot be: %s", scale);
      ConfigException.require(Arrays.stream(std).allMatch(s -> s > 0), "--std values must be positive, cannot be: %s", Arrays.toString(std));
      ConfigException.require(classes == null || format == Format.KERAS, "--classes applies to --format keras (a Keras trunk without a "
          + "classifier); an ONNX model keeps its own output layer");
      ConfigException.require(classes == null || classes >= 2, "--classes must be at least 2, cannot be: %s", classes);
    }
  }

  /** The options of {@code graft import-model}. */
  public static final class Args implements JobArgs<Request> {
    @Option(names = "--format", required = true, paramLabel = "FORMAT",
        description = "onnx (a model exported by PyTorch's torch.onnx.export, or another converter) or keras (an HDF5 file from Keras's model.save).")
    String format;

    @Option(names = "--input", required = true, paramLabel = "URI", description = "The source model file (any Hadoop filesystem URI).")
    @Input(watch = true) String input;

    @Option(names = "--output", required = true, paramLabel = "URI", description = "The Graft model folder to write (replaced atomically).")
    String output;

    @Option(names = "--input-scale", defaultValue = "1", paramLabel = "S",
        description = "What the source model reads for a white pixel: 1 for torchvision-style [0, 1] inputs (default), 255 for raw bytes.")
    double scale;

    @Option(names = "--mean", split = ",", paramLabel = "M", description = "Per-channel mean the source model subtracts after scaling (e.g. 0.485,0.456,0.406).")
    double[] mean = new double[0];

    @Option(names = "--std", split = ",", paramLabel = "S", description = "Per-channel standard deviation it divides by (e.g. 0.229,0.224,0.225).")
    double[] std = new double[0];

    @Option(names = "--classes", paramLabel = "N",
        description = "Keras models that end before any Dense layer (a trunk): put a new, untrained N-class softmax layer on the last layer.")
    Integer classes;

    @Override
    public Request config() {
      Format f;
      try {
        f = Format.valueOf(format.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new ConfigException("--format must be onnx or keras, cannot be: " + format);
      }
      return new Request(f, input, output, scale, mean, std, classes);
    }
  }

  public static final Job<Request> JOB = Job.<Request>withArgs("import-model", Args::new,
      (request, env, resume) -> env.storage().requireExists(env.storage().path(request.input()), "Source model"),
      (request, context) -> {
        Storage storage = context.env().storage();
        Path source = storage.path(request.input());
        byte[] bytes;
        try (InputStream in = storage.open(source)) {
          bytes = in.readAllBytes();
        }
        Imported imported = request.format() == Format.KERAS ? keras(bytes, request) : onnx(bytes, request);
        write(storage, request, bytes, imported);
        ComputationGraph graph = imported.graph();
        long params = graph.numParams();
        context.log().accept(String.format("imported %s (%s, %s): %d %s -> %d vertices, %,d parameters, input %s -> %s", request.input(),
            imported.producer(), imported.what(), imported.sourceMapping().size(), request.format() == Format.KERAS ? "Keras layers" : "ONNX nodes",
            graph.getVertices().length - 1, params, Arrays.toString(imported.inputShape()), request.output()));
        imported.notes().forEach(note -> context.log().accept("note: " + note));
        List<String> lines = new ArrayList<>();
        lines.add("model=" + request.output());
        lines.add("vertices=" + (graph.getVertices().length - 1) + " parameters=" + params + " classes="
            + graph.getOutputLayer(0).getParam("W").size(1));
        return () -> lines;
      }).withoutSpark();

  /** {@code spark-submit --class io.graft.jobs.importer.ModelImportJob graft.jar --format onnx|keras --input URI --output URI}. */
  public static void main(String[] args) {
    System.exit(JobMain.run(JOB, args));
  }

  /** What either importer gives, for the model folder and the log. */
  private record Imported(ComputationGraph graph, String producer, String what, Map<String, String> sourceMapping, String mappingKey,
      long[] inputShape, String layout, Map<String, Object> sourceFields, List<String> notes) {}

  private static Imported onnx(byte[] bytes, Request request) {
    OnnxModel model = OnnxModel.parse(bytes, request.input());
    OnnxImport.Result result = OnnxImport.convert(model, new OnnxImport.InputSpec(request.scale(), request.mean(), request.std()));
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("opset", model.opset());
    fields.put("irVersion", model.irVersion());
    return new Imported(result.graph(), (model.producerName() + " " + model.producerVersion()).trim(), "opset " + model.opset(),
        result.nodeToVertex(), "nodeToVertex", result.inputShape(),
        result.inputShape().length == 3 ? "CHW, RGB order, pixels in [0, 1]" : "feature rows", fields, result.notes());
  }

  /** Keras's HDF5 reader reads local files: the source is copied to a temporary file first (any Hadoop filesystem). */
  private static Imported keras(byte[] bytes, Request request) throws IOException {
    java.nio.file.Path local = java.nio.file.Files.createTempFile("graft-keras-", ".h5");
    try {
      java.nio.file.Files.write(local, bytes);
      KerasImport.Result result = KerasImport.convert(local, request.input(), new OnnxImport.InputSpec(request.scale(), request.mean(),
          request.std()), request.classes(), 12345);
      Map<String, Object> fields = new LinkedHashMap<>();
      fields.put("backend", result.backend());
      fields.put("modelClass", result.modelClass());
      return new Imported(result.graph(), "keras " + result.kerasVersion(), result.modelClass() + " model, " + result.backend() + " backend",
          result.layerToVertex(), "layerToVertex", result.inputShape(), result.layout(), fields, result.notes());
    } finally {
      java.nio.file.Files.deleteIfExists(local);
    }
  }

  private static void write(Storage storage, Request request, byte[] bytes, Imported imported) throws IOException {
    Provenance provenance = new Provenance("import-model");
    ObjectNode src = provenance.root().putObject("source");
    src.put("uri", request.input());
    src.put("format", request.format().toString().toLowerCase(Locale.ROOT));
    src.put("bytes", bytes.length);
    src.put("sha256", Storage.sha256(new java.io.ByteArrayInputStream(bytes)));
    src.put("producer", imported.producer());
    imported.sourceFields().forEach((k, v) -> src.set(k, provenance.root().pojoNode(v)));
    ObjectNode in = provenance.root().putObject("input");
    in.set("shape", provenance.root().arrayNode().addAll(Arrays.stream(imported.inputShape()).mapToObj(l -> provenance.root().numberNode(l)).toList()));
    in.put("layout", imported.layout());
    in.put("scale", request.scale());
    in.set("mean", provenance.root().arrayNode().addAll(Arrays.stream(request.mean()).mapToObj(v -> provenance.root().numberNode(v)).toList()));
    in.set("std", provenance.root().arrayNode().addAll(Arrays.stream(request.std()).mapToObj(v -> provenance.root().numberNode(v)).toList()));
    provenance.put(imported.mappingKey(), imported.sourceMapping());
    provenance.put("notes", imported.notes());

    Path out = storage.qualify(storage.path(request.output()));
    Path staging = new Path(out.getParent(), "._staging-" + out.getName() + "-" + UUID.randomUUID());
    try {
      storage.writeAtomically(new Path(staging, "model.zip"), o -> ModelSerializer.writeModel(imported.graph(), o, true));
      storage.writeString(new Path(staging, Provenance.FILE_NAME), provenance.toJson());
      storage.replaceDirectory(staging, out);
    } finally {
      if (storage.exists(staging)) {
        storage.delete(staging);
      }
    }
  }
}

package io.graft.jobs.importer;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.graft.config.ConfigException;
import io.graft.config.Input;
import io.graft.jobs.Job;
import io.graft.jobs.JobArgs;
import io.graft.jobs.JobMain;
import io.graft.onnx.OnnxImport;
import io.graft.onnx.OnnxModel;
import io.graft.store.Provenance;
import io.graft.store.Storage;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.util.ModelSerializer;
import picocli.CommandLine.Option;

/**
 * {@code graft import-model}: a model trained elsewhere, as a Graft model folder ({@code model.zip},
 * a DL4J ComputationGraph, and {@code provenance.json}: the source file's size and SHA-256, its
 * producer and opset, the input the model expects and which ONNX node became which vertex). Reads
 * from any Hadoop filesystem; converts completely before writing anything, and writes the folder
 * under a staging name renamed into place. No Spark.
 */
public final class ModelImportJob {
  private ModelImportJob() {}

  /** Source formats. */
  public enum Format { ONNX }

  /**
   * @param input the source model file (any Hadoop URI)
   * @param output the Graft model folder to write (replaced atomically)
   * @param scale the value the source model reads for a white pixel (Graft's pixels are in [0, 1])
   * @param mean per-channel mean the source model subtracts (after scaling), one value or one per channel
   * @param std per-channel standard deviation it divides by
   */
  public record Request(Format format, String input, String output, double scale, double[] mean, double[] std) {
    public Request {
      ConfigException.require(scale > 0, "--input-scale must be positive, cannot be: %s", scale);
      ConfigException.require(Arrays.stream(std).allMatch(s -> s > 0), "--std values must be positive, cannot be: %s", Arrays.toString(std));
    }
  }

  /** The options of {@code graft import-model}. */
  public static final class Args implements JobArgs<Request> {
    @Option(names = "--format", required = true, paramLabel = "FORMAT", description = "onnx (a model exported by PyTorch's torch.onnx.export, or another converter).")
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

    @Override
    public Request config() {
      Format f;
      try {
        f = Format.valueOf(format.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new ConfigException("--format must be onnx, cannot be: " + format
            + (format.equalsIgnoreCase("keras") ? " (Keras HDF5 import is not built: no Keras-written file can be obtained to test it against)" : ""));
      }
      return new Request(f, input, output, scale, mean, std);
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
        OnnxModel model = OnnxModel.parse(bytes, request.input());
        OnnxImport.Result result = OnnxImport.convert(model, new OnnxImport.InputSpec(request.scale(), request.mean(), request.std()));
        write(storage, request, bytes, model, result);
        long params = result.graph().numParams();
        context.log().accept(String.format("imported %s (%s %s, opset %d): %d ONNX nodes -> %d vertices, %,d parameters, input %s -> %s",
            request.input(), model.producerName(), model.producerVersion(), model.opset(), model.graph().nodes().size(),
            result.graph().getVertices().length - 1, params, Arrays.toString(result.inputShape()), request.output()));
        result.notes().forEach(note -> context.log().accept("note: " + note));
        List<String> lines = new ArrayList<>();
        lines.add("model=" + request.output());
        lines.add("vertices=" + (result.graph().getVertices().length - 1) + " parameters=" + params + " classes="
            + result.graph().getOutputLayer(0).getParam("b").length());
        return () -> lines;
      }).withoutSpark();

  /** {@code spark-submit --class io.graft.jobs.importer.ModelImportJob graft.jar --format onnx --input URI --output URI}. */
  public static void main(String[] args) {
    System.exit(JobMain.run(JOB, args));
  }

  private static void write(Storage storage, Request request, byte[] bytes, OnnxModel model, OnnxImport.Result result) throws IOException {
    Provenance provenance = new Provenance("import-model");
    ObjectNode src = provenance.root().putObject("source");
    src.put("uri", request.input());
    src.put("format", request.format().toString().toLowerCase(Locale.ROOT));
    src.put("bytes", bytes.length);
    src.put("sha256", Storage.sha256(new java.io.ByteArrayInputStream(bytes)));
    src.put("producer", (model.producerName() + " " + model.producerVersion()).trim());
    src.put("opset", model.opset());
    src.put("irVersion", model.irVersion());
    ObjectNode in = provenance.root().putObject("input");
    in.set("shape", provenance.root().arrayNode().addAll(Arrays.stream(result.inputShape()).mapToObj(l -> provenance.root().numberNode(l)).toList()));
    in.put("layout", result.inputShape().length == 3 ? "CHW, RGB order, pixels in [0, 1]" : "feature rows");
    in.put("scale", request.scale());
    in.set("mean", provenance.root().arrayNode().addAll(Arrays.stream(request.mean()).mapToObj(v -> provenance.root().numberNode(v)).toList()));
    in.set("std", provenance.root().arrayNode().addAll(Arrays.stream(request.std()).mapToObj(v -> provenance.root().numberNode(v)).toList()));
    provenance.put("nodeToVertex", result.nodeToVertex());
    provenance.put("notes", result.notes());

    Path out = storage.qualify(storage.path(request.output()));
    Path staging = new Path(out.getParent(), "._staging-" + out.getName() + "-" + UUID.randomUUID());
    try {
      storage.writeAtomically(new Path(staging, "model.zip"), o -> ModelSerializer.writeModel(result.graph(), o, true));
      storage.writeString(new Path(staging, Provenance.FILE_NAME), provenance.toJson());
      storage.replaceDirectory(staging, out);
    } finally {
      if (storage.exists(staging)) {
        storage.delete(staging);
      }
    }
  }
}

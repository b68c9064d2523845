package io.graft.jobs.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.graft.config.ConfigException;
import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;

/**
 * The PyTorch peer of {@code graft bench-overhead}: the same network trained by PyTorch on the same
 * rows, as a user would run it instead of Graft (one process at 1 and N threads, and
 * DistributedDataParallel over N single-thread processes with gloo, as TorchDistributor runs it).
 * The rows go to the peer as NumPy files; the peer is {@code torch_peer.py}, shipped in Graft's
 * jar and run by a Python that imports torch (Debian's {@code python3-torch} on this machine kind).
 */
final class TorchPeer {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String SCRIPT = "torch_peer.py";

  /** One timed PyTorch run: the variant's processes and threads, samples of the timed epoch, its rate, test accuracy. */
  record Run(String variant, int processes, int threads, long samples, double samplesPerSecond, double testAccuracy, String torchVersion) {}

  private final String python;
  private final Path dir;

  private TorchPeer(String python, Path dir) {
    this.python = python;
    this.dir = dir;
  }

  /**
   * The peer for {@code python}: {@code auto} uses Debian's {@code /usr/bin/python3} or the
   * {@code python3} on the PATH, whichever imports torch first, and returns null where none does;
   * {@code off} returns null; any other value is an interpreter that must import torch.
   *
   * @throws ConfigException when a named interpreter cannot import torch
   */
  static TorchPeer find(String python, Path dir) {
    if (python == null || python.equals("off")) {
      return null;
    }
    List<String> candidates = python.equals("auto") ? List.of("/usr/bin/python3", "python3") : List.of(python);
    for (String p : candidates) {
      if (importsTorch(p)) {
        return new TorchPeer(p, dir);
      }
    }
    ConfigException.require(python.equals("auto"), "--python %s cannot import torch (Debian: apt-get install python3-torch)", python);
    return null;
  }

  private static boolean importsTorch(String python) {
    try {
      Process p = new ProcessBuilder(python, "-c", "import torch").redirectErrorStream(true).start();
      p.getInputStream().transferTo(OutputStream.nullOutputStream());
      return p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  String python() {
    return python;
  }

  /** Writes the training and test rows as NumPy files the peer reads (features float32, labels int32). */
  void writeRows(List<DataSet> train, List<DataSet> test) throws IOException {
    Files.createDirectories(dir);
    writeNpy(train, "train");
    writeNpy(test, "test");
    try (InputStream in = TorchPeer.class.getResourceAsStream(SCRIPT)) {
      Files.copy(in, dir.resolve(SCRIPT), StandardCopyOption.REPLACE_EXISTING);
    }
  }

  /**
   * Trains and times one variant.
   *
   * @param args the peer's options after {@code --data}, e.g. {@code --variant ddp --procs 2}
   * @param threads threads per process ({@code OMP_NUM_THREADS} of the peer)
   */
  Run run(List<String> args, int threads) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(python, dir.resolve(SCRIPT).toString(), "--data", dir.toString()));
    command.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(command).redirectError(dir.resolve("peer.err").toFile());
    pb.environment().put("OMP_NUM_THREADS", Integer.toString(threads));
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    if (p.waitFor() != 0 || out.isEmpty()) {
      List<String> err = Files.readAllLines(dir.resolve("peer.err"));
      throw new IOException("The PyTorch peer failed (" + String.join(" ", command) + "): "
          + String.join(" | ", err.subList(Math.max(0, err.size() - 5), err.size())));
    }
    JsonNode r = JSON.readTree(out.substring(out.lastIndexOf('\n') + 1));
    return new Run(r.get("variant").asText(), r.get("processes").asInt(), r.get("threads").asInt(), r.get("samples").asLong(),
        r.get("samples_per_s").asDouble(), r.get("test_accuracy").asDouble(), r.get("torch").asText() + ", " + r.get("capability").asText());
  }

  /** NumPy .npy version 1.0: magic, header length, a dict padded to a multiple of 64 bytes, little-endian data. */
  private void writeNpy(List<DataSet> batches, String name) throws IOException {
    long rows = batches.stream().mapToLong(DataSet::numExamples).sum();
    long features = batches.get(0).getFeatures().size(1);
    try (DataOutputStream x = npy(dir.resolve(name + "-x.npy"), "<f4", "(" + rows + ", " + features + ")");
        DataOutputStream y = npy(dir.resolve(name + "-y.npy"), "<i4", "(" + rows + ",)")) {
      for (DataSet b : batches) {
        float[] f = b.getFeatures().castTo(DataType.FLOAT).data().asFloat();
        for (float v : f) {
          x.writeInt(Integer.reverseBytes(Float.floatToRawIntBits(v)));
        }
        for (long label : b.getLabels().argMax(1).toLongVector()) {
          y.writeInt(Integer.reverseBytes((int) label));
        }
      }
    }
  }

  private static DataOutputStream npy(Path file, String dtype, String shape) throws IOException {
    String dict = String.format(Locale.ROOT, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", dtype, shape);
    int unpadded = 6 + 2 + 2 + dict.length() + 1;
    String header = dict + " ".repeat((64 - unpadded % 64) % 64) + "\n";
    DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(file), 1 << 16));
    out.write(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0});
    out.writeShort(Short.reverseBytes((short) header.length()));
    out.write(header.getBytes(StandardCharsets.US_ASCII));
    return out;
  }
}

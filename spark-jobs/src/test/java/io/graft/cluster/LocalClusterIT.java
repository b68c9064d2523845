package io.graft.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.graft.testing.SparkTests;
import io.graft.testing.TestData;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end on a real cluster on loopback: a Spark standalone master with 2 workers started by
 * {@code deploy/local-cluster/spark-standalone.sh} (separate JVMs, executors launched by the
 * workers) and HDFS with 2 DataNodes; every Graft command goes through {@code deploy/bin/graft-submit}
 * with the application jar, as a user would run it. Runs after {@code package} (failsafe), since
 * it needs the jar.
 */
class LocalClusterIT {
  static final Path ROOT = Path.of("").toAbsolutePath().getParent();
  static MiniDFSCluster hdfs;
  static String nn;
  static String master;
  static Path clusterDir;
  @TempDir static Path work;

  @BeforeAll
  static void startCluster() throws Exception {
    hdfs = SparkTests.miniDfs(work.resolve("hdfs"), 2);
    nn = "hdfs://127.0.0.1:" + hdfs.getNameNodePort();
    int port = freePort();
    clusterDir = work.resolve("spark");
    // one GPU address per worker: there is no GPU here, but Spark's scheduling of them is real
    Result started = sh(180, ROOT.resolve("deploy/local-cluster/spark-standalone.sh").toString(), "start", "--workers", "2", "--cores", "1",
        "--memory", "2g", "--gpus-per-worker", "1", "--port", Integer.toString(port), "--ui-port", Integer.toString(freePort()), "--dir", clusterDir.toString());
    assertThat(started.exit()).as(started.output()).isZero();
    master = "spark://127.0.0.1:" + port;
  }

  @AfterAll
  static void stopCluster() throws Exception {
    if (clusterDir != null) {
      sh(60, ROOT.resolve("deploy/local-cluster/spark-standalone.sh").toString(), "stop", "--dir", clusterDir.toString());
    }
    if (hdfs != null) {
      hdfs.shutdown();
    }
  }

  private static boolean imported;

  /** MNIST (4,000 + 1,000 rows) and Fashion-MNIST (3,000 + 1,000) on HDFS, imported through graft-submit once. */
  private static synchronized void importData() throws Exception {
    if (imported) {
      return;
    }
    Path mnist = TestData.raw("mnist");
    Path fashion = TestData.raw("fashion-mnist");
    importIdx(mnist.resolve("train-images-idx3-ubyte"), "/graft/mnist/train", 4000);
    importIdx(mnist.resolve("t10k-images-idx3-ubyte"), "/graft/mnist/test", 1000);
    importIdx(fashion.resolve("train-images-idx3-ubyte.gz"), "/graft/fashion/train", 3000);
    importIdx(fashion.resolve("t10k-images-idx3-ubyte.gz"), "/graft/fashion/test", 1000);
    imported = true;
  }

  @Test
  void importPretrainAndFinetuneThroughGraftSubmitOnHdfs() throws Exception {
    importData();

    String[] pretrain = {"pretrain", "--set", "data.train=" + nn + "/graft/mnist/train", "--set", "data.test=" + nn + "/graft/mnist/test",
        "--set", "model.architecture=mlp", "--set", "model.hidden=[64]", "--set", "training.epochs=2", "--set", "training.batchSizePerWorker=32",
        "--set", "output=" + nn + "/graft/models/mlp"};
    // dl4j-spark's Export approach refuses a local default filesystem on a cluster; Graft says so before training
    Result refused = submit(false, pretrain);
    assertThat(refused.exit()).as(refused.output()).isEqualTo(2);
    assertThat(refused.output()).contains("graft: error: training.approach export on a cluster (" + master + ") needs a shared default filesystem");

    Result trained = submit(true, pretrain);
    assertThat(trained.exit()).as(trained.output()).isZero();
    assertThat(trained.output()).contains("[pretrain] round 2/2");
    FileSystem fs = hdfs.getFileSystem();
    JsonNode prov = new ObjectMapper().readTree(fs.open(new org.apache.hadoop.fs.Path("/graft/models/mlp/provenance.json")));
    assertThat(prov.at("/cluster/master").asText()).isEqualTo(master);
    assertThat(prov.at("/cluster/workers").asInt()).isEqualTo(2);
    assertThat(prov.at("/metrics/test_accuracy").asDouble()).isGreaterThan(0.8);
    assertThat(prov.at("/inputs/train/rows").asLong()).isEqualTo(4000);
    assertThat(fs.exists(new org.apache.hadoop.fs.Path("/graft/models/mlp/model.zip"))).isTrue();
    assertThat(fs.getFileStatus(new org.apache.hadoop.fs.Path("/graft/models/mlp/model.zip")).getReplication()).isEqualTo((short) 2);
    assertThat(lines(fs, "/graft/models/mlp/metrics.jsonl")).hasSize(2);
    assertThat(fs.exists(new org.apache.hadoop.fs.Path("/graft/models/mlp/_checkpoint"))).isFalse();

    Result tuned = submit(true, "finetune", "--set", "source=" + nn + "/graft/models/mlp", "--set", "data.train=" + nn + "/graft/fashion/train",
        "--set", "data.test=" + nn + "/graft/fashion/test", "--set", "data.labelsPerClass=50", "--set", "strategy=full", "--set", "epochs=3",
        "--set", "fullRateFactor=1", "--set", "training.batchSizePerWorker=16", "--set", "output=" + nn + "/graft/models/mlp-fashion");
    assertThat(tuned.exit()).as(tuned.output()).isZero();
    JsonNode ftProv = new ObjectMapper().readTree(fs.open(new org.apache.hadoop.fs.Path("/graft/models/mlp-fashion/provenance.json")));
    assertThat(ftProv.at("/metrics/test_accuracy").asDouble()).isGreaterThan(0.45); // 0.61 in local mode with these settings
    assertThat(ftProv.at("/source/uri").asText()).isEqualTo(nn + "/graft/models/mlp");
    assertThat(lines(fs, "/graft/models/mlp-fashion/metrics.jsonl")).hasSize(3);
  }

  @Test
  void gpuExecutorsRunOneTaskPerGpuEachBoundToTheGpuSparkAssignedIt() throws Exception {
    importData();
    String[] pretrain = {"pretrain", "--set", "data.train=" + nn + "/graft/mnist/train", "--set", "data.test=" + nn + "/graft/mnist/test",
        "--set", "model.architecture=mlp", "--set", "model.hidden=[32]", "--set", "training.epochs=1", "--set", "training.batchSizePerWorker=32",
        "--set", "output=" + nn + "/graft/models/mlp-gpu"};
    String[] gpus = {"--conf", "spark.executor.resource.gpu.amount=1", "--conf", "spark.task.resource.gpu.amount=1"};

    // dl4j-spark's workers cannot be bound to their GPU: refused on the driver, one line, exit 2
    Result refused = submit(true, concat(gpus, pretrain));
    assertThat(refused.exit()).as(refused.output()).isEqualTo(2);
    assertThat(refused.output()).contains("graft: error: GPU executors (spark.task.resource.gpu.amount) need training.engine=graft");
    Result twoPerTask = submit(true, concat(new String[] {"--conf", "spark.executor.resource.gpu.amount=2", "--conf",
        "spark.task.resource.gpu.amount=2"}, pretrain));
    assertThat(twoPerTask.exit()).as(twoPerTask.output()).isEqualTo(2);
    assertThat(twoPerTask.output()).contains("graft: error: spark.task.resource.gpu.amount is 2");

    Result trained = submit(true, concat(gpus, concat(pretrain, new String[] {"--set", "training.engine=graft"})));
    assertThat(trained.exit()).as(trained.output()).isZero();
    FileSystem fs = hdfs.getFileSystem();
    JsonNode prov = new ObjectMapper().readTree(fs.open(new org.apache.hadoop.fs.Path("/graft/models/mlp-gpu/provenance.json")));
    assertThat(prov.at("/cluster/workers").asInt()).isEqualTo(2);
    // each executor's tasks were bound to the one GPU its worker gave it (the CPU build says so and trains on the CPU)
    java.util.Set<String> assigned = new java.util.TreeSet<>();
    try (var files = Files.walk(clusterDir)) {
      for (Path stderr : files.filter(f -> f.getFileName().toString().equals("stderr")).toList()) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("was assigned GPU (\\d+) by Spark").matcher(Files.readString(stderr));
        java.util.Set<String> inThisExecutor = new java.util.TreeSet<>();
        while (m.find()) {
          inThisExecutor.add(m.group(1));
        }
        assertThat(inThisExecutor).as("GPUs one executor's tasks were bound to (%s)", stderr).hasSizeLessThanOrEqualTo(1);
        assigned.addAll(inThisExecutor);
      }
    }
    assertThat(assigned).containsExactly("0", "1");
  }

  private static String[] concat(String[] a, String[] b) {
    String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  private static void importIdx(Path images, String to, int limit) throws Exception {
    Result r = submit(true, "import", "--format", "idx", "--input", images.toUri().toString(), "--output", nn + to, "--num-classes", "10",
        "--limit", Integer.toString(limit));
    assertThat(r.exit()).as(r.output()).isZero();
  }

  private static List<String> lines(FileSystem fs, String path) throws IOException {
    try (var in = fs.open(new org.apache.hadoop.fs.Path(path))) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().toList();
    }
  }

  /** graft-submit to the standalone master with 2 one-core executors; {@code hdfsDefault}: HDFS as the default filesystem. */
  private static Result submit(boolean hdfsDefault, String... command) throws Exception {
    List<String> args = new ArrayList<>(List.of(ROOT.resolve("deploy/bin/graft-submit").toString(), "--master", master,
        "--total-executor-cores", "2", "--executor-cores", "1", "--executor-memory", "1500m", "--driver-memory", "1500m"));
    if (hdfsDefault) {
      args.addAll(List.of("--conf", "spark.hadoop.fs.defaultFS=" + nn));
    }
    args.addAll(List.of(command));
    return sh(600, args.toArray(String[]::new));
  }

  record Result(int exit, String output) {}

  private static Result sh(int timeoutSeconds, String... command) throws Exception {
    Path log = Files.createTempFile(work, "cmd", ".log");
    Process p = new ProcessBuilder(command).directory(ROOT.toFile()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError(String.join(" ", command) + " timed out after " + timeoutSeconds + " s:\n" + tail(Files.readString(log)));
    }
    return new Result(p.exitValue(), tail(Files.readString(log)));
  }

  private static String tail(String s) {
    List<String> kept = s.lines().filter(l -> !l.contains(" INFO ")).toList();
    return String.join("\n", kept.subList(Math.max(0, kept.size() - 60), kept.size()));
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}

package io.graft.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.graft.cluster.Commands.Result;
import io.graft.cluster.Commands.Running;
import io.graft.testing.TestData;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end on a real cluster on loopback: a Spark standalone master with 2 workers started by
 * {@code deploy/local-cluster/spark-standalone.sh} (separate JVMs, executors launched by the
 * workers) and HDFS with 2 DataNodes started by {@code deploy/local-cluster/hdfs.sh} (a JVM
 * each); every Graft command goes through {@code deploy/bin/graft-submit}
 * with the application jar, as a user would run it. Runs after {@code package} (failsafe), since
 * it needs the jar.
 *
 * <p>Then the faults a cluster throws at a job, in an order that keeps the cluster usable for the
 * next test: a DataNode stopped while a fine-tune reads (then started again), a crash while the
 * model is saved, the driver killed mid-training, and last a worker killed mid-round (which leaves
 * one worker).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LocalClusterIT {
  static Path hdfsDir;
  static FileSystem fs;
  static String nn;
  static String master;
  static Path clusterDir;
  @TempDir static Path work;

  @BeforeAll
  static void startCluster() throws Exception {
    int nnPort = Commands.freePort();
    hdfsDir = work.resolve("hdfs");
    Result hdfsUp = sh(180, script("hdfs.sh"), "start", "--datanodes", "2", "--replication", "2", "--port", Integer.toString(nnPort),
        "--http-port", Integer.toString(Commands.freePort()), "--dir", hdfsDir.toString());
    assertThat(hdfsUp.exit()).as(hdfsUp.output()).isZero();
    nn = "hdfs://127.0.0.1:" + nnPort;
    fs = FileSystem.get(java.net.URI.create(nn), new org.apache.hadoop.conf.Configuration());
    int port = Commands.freePort();
    clusterDir = work.resolve("spark");
    // one GPU address per worker: there is no GPU here, but Spark's scheduling of them is real
    Result started = sh(180, script("spark-standalone.sh"), "start", "--workers", "2", "--cores", "1", "--memory", "2g",
        "--gpus-per-worker", "1", "--port", Integer.toString(port), "--ui-port", Integer.toString(Commands.freePort()), "--dir",
        clusterDir.toString());
    assertThat(started.exit()).as(started.output()).isZero();
    master = "spark://127.0.0.1:" + port;
  }

  @AfterAll
  static void stopCluster() throws Exception {
    if (clusterDir != null) {
      sh(60, script("spark-standalone.sh"), "stop", "--dir", clusterDir.toString());
    }
    if (hdfsDir != null) {
      sh(60, script("hdfs.sh"), "stop", "--dir", hdfsDir.toString());
    }
  }

  private static String script(String name) {
    return Commands.ROOT.resolve("deploy/local-cluster").resolve(name).toString();
  }

  private static boolean imported;

  /**
   * MNIST (4,000 + 1,000 rows) and Fashion-MNIST (3,000 + 1,000) on HDFS, imported once by one
   * graft-submit of a pipeline whose import stages publish them to /graft/mnist/train, ...
   */
  private static synchronized void importData() throws Exception {
    if (imported) {
      return;
    }
    Path mnist = TestData.raw("mnist");
    Path fashion = TestData.raw("fashion-mnist");
    Path pipeline = work.resolve("import.yaml");
    Files.writeString(pipeline, "name: cluster-data\nstages:\n"
        + importStage("mnist-train", mnist.resolve("train-images-idx3-ubyte"), 4000, "mnist/train")
        + importStage("mnist-test", mnist.resolve("t10k-images-idx3-ubyte"), 1000, "mnist/test")
        + importStage("fashion-train", fashion.resolve("train-images-idx3-ubyte.gz"), 3000, "fashion/train")
        + importStage("fashion-test", fashion.resolve("t10k-images-idx3-ubyte.gz"), 1000, "fashion/test"));
    Result r = submit(true, "pipeline", "run", pipeline.toString(), "--root", nn + "/graft");
    assertThat(r.exit()).as(r.output()).isZero();
    assertThat(r.output()).contains("published fashion-test to " + nn + "/graft/fashion/test");
    imported = true;
  }

  private static String importStage(String name, Path images, int limit, String publish) {
    return "  - name: " + name + "\n    type: import\n    args: {format: idx, input: \"" + images.toUri() + "\", num-classes: 10, limit: " + limit
        + "}\n    publish: " + publish + "\n";
  }

  @Test
  @Order(1)
  void importAndPretrainThroughGraftSubmitOnHdfs() throws Exception {
    importData();

    // bare paths: on the default filesystem the submit names, for Graft's checks before Spark starts as for the job
    String[] pretrain = mlpPretrainOn("", "/graft/models/mlp", 2, "dl4j-spark");
    // dl4j-spark's Export approach refuses a local default filesystem on a cluster; Graft says so before Spark starts
    long appsBefore = registeredApps();
    Result refused = submit(false, pretrain);
    assertThat(refused.exit()).as(refused.output()).isEqualTo(2);
    assertThat(refused.output()).contains("graft: error: training.approach export on a cluster (" + master + ") needs a shared default filesystem");
    assertThat(registeredApps()).as("applications the master registered").isEqualTo(appsBefore);

    Result trained = submit(true, pretrain);
    assertThat(trained.exit()).as(trained.output()).isZero();
    assertThat(trained.output()).contains("[pretrain] round 2/2");
    JsonNode prov = provenance("/graft/models/mlp");
    assertThat(prov.at("/cluster/master").asText()).isEqualTo(master);
    assertThat(prov.at("/cluster/workers").asInt()).isEqualTo(2);
    assertThat(prov.at("/metrics/test_accuracy").asDouble()).isGreaterThan(0.8);
    assertThat(prov.at("/inputs/train/rows").asLong()).isEqualTo(4000);
    assertThat(fs.exists(new org.apache.hadoop.fs.Path("/graft/models/mlp/model.zip"))).isTrue();
    assertThat(fs.getFileStatus(new org.apache.hadoop.fs.Path("/graft/models/mlp/model.zip")).getReplication()).isEqualTo((short) 2);
    assertThat(lines(fs, "/graft/models/mlp/metrics.jsonl")).hasSize(2);
    assertThat(fs.exists(new org.apache.hadoop.fs.Path("/graft/models/mlp/_checkpoint"))).isFalse();
    // GraftPlugin set up every executor JVM before its first task (dl4j-spark builds the networks there)
    long prepared = Commands.executorLogsWithGraftPlugin(clusterDir).size();
    assertThat(prepared).as("executor logs in %s saying oneDNN is on", clusterDir).isGreaterThanOrEqualTo(2);
  }

  @Test
  @Order(2)
  void aDataNodeStoppedMidReadLeavesTheFineTuneUnaffected() throws Exception {
    importData();
    if (!fs.exists(new org.apache.hadoop.fs.Path("/graft/models/mlp/model.zip"))) { // when run alone
      assertThat(submit(true, mlpPretrain("/graft/models/mlp", 1, "dl4j-spark")).exit()).isZero();
    }
    // fine-tuning from the HDFS model on Fashion-MNIST with dl4j-spark, which reads the rows and exports them to HDFS
    Running run = start(submitCommand(true, "finetune", "--set", "source=" + nn + "/graft/models/mlp", "--set",
        "data.train=" + nn + "/graft/fashion/train", "--set", "data.test=" + nn + "/graft/fashion/test", "--set", "data.labelsPerClass=50",
        "--set", "strategy=full", "--set", "epochs=3", "--set", "fullRateFactor=1", "--set", "training.batchSizePerWorker=16", "--set",
        "output=" + nn + "/graft/models/mlp-fashion"));
    run.await(" from " + nn + "/graft/models/mlp on ", 300); // the planning line: the rows are counted, training reads them after it
    // kill -9 one of the 2 DataNode JVMs; replication 2: every block has a copy on the other
    Result killed = sh(60, script("hdfs.sh"), "stop-datanode", "1", "--dir", hdfsDir.toString());
    assertThat(killed.exit()).as(killed.output()).isZero();
    Result tuned = run.finish(600);
    assertThat(tuned.exit()).as(tuned.output()).isZero();
    JsonNode ftProv = provenance("/graft/models/mlp-fashion");
    assertThat(ftProv.at("/metrics/test_accuracy").asDouble()).isGreaterThan(0.45); // 0.61 in local mode with these settings
    assertThat(ftProv.at("/source/uri").asText()).isEqualTo(nn + "/graft/models/mlp");
    assertThat(lines(fs, "/graft/models/mlp-fashion/metrics.jsonl")).hasSize(3);
    // the DataNode comes back on its data for the tests after this one
    Result restarted = sh(180, script("hdfs.sh"), "start-datanode", "1", "--dir", hdfsDir.toString());
    assertThat(restarted.exit()).as(restarted.output()).isZero();
  }

  @Test
  @Order(3)
  void gpuExecutorsGiveEachTaskOneGpuAndNoTwoExecutorsTheSameOne() throws Exception {
    importData();
    String[] gpus = {"--conf", "spark.executor.resource.gpu.amount=1", "--conf", "spark.task.resource.gpu.amount=1"};

    // (GPU settings Graft cannot honour are refused on the driver before this: TaskGpuTest)
    // (also the undisturbed run the worker-kill test compares with: GPU settings do not change the arithmetic)
    Result trained = submit(true, concat(gpus, mlpPretrain(UNDISTURBED, 3, "graft")));
    assertThat(trained.exit()).as(trained.output()).isZero();
    JsonNode prov = provenance(UNDISTURBED);
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

  @Test
  @Order(4)
  void aCrashWhileTheModelIsSavedLeavesThePreviousModelIntactAndLoadable() throws Exception {
    org.apache.hadoop.fs.Path model = new org.apache.hadoop.fs.Path("/graft/models/mlp/model.zip");
    if (!fs.exists(model)) { // when run alone
      importData();
      assertThat(submit(true, mlpPretrain("/graft/models/mlp", 1, "dl4j-spark")).exit()).isZero();
    }
    byte[] before = bytes(fs, model);
    String provenance = String.join("\n", lines(fs, "/graft/models/mlp/provenance.json"));
    List<String> metrics = lines(fs, "/graft/models/mlp/metrics.jsonl");

    // the driver JVM halts (as kill -9 would) once 64 KiB of the new model.zip are written
    Result crashed = sh(600, java.util.Map.of("GRAFT_FAILPOINT", "halt-writing:/graft/models/mlp/model.zip"),
        submitCommand(true, mlpPretrain("/graft/models/mlp", 1, "graft")));
    assertThat(crashed.exit()).as(crashed.output()).isEqualTo(137);
    assertThat(crashed.output()).contains("graft: failpoint halt-writing:/graft/models/mlp/model.zip: halting the JVM after");

    assertThat(bytes(fs, model)).isEqualTo(before);
    assertThat(String.join("\n", lines(fs, "/graft/models/mlp/provenance.json"))).isEqualTo(provenance);
    assertThat(lines(fs, "/graft/models/mlp/metrics.jsonl")).as("the crashed run's rounds stay in its checkpoint").isEqualTo(metrics);
    try (var in = fs.open(model)) {
      org.deeplearning4j.nn.multilayer.MultiLayerNetwork loaded = org.deeplearning4j.util.ModelSerializer.restoreMultiLayerNetwork(in, false);
      assertThat(loaded.numParams()).isEqualTo(784L * 64 + 64 + 64 * 10 + 10);
    }
  }

  @Test
  @Order(5)
  void aDriverKilledMidTrainingResumesFromTheLastRoundsCheckpoint() throws Exception {
    importData();
    String[] pretrain = mlpPretrain("/graft/models/driver-killed", 3, "graft");
    Running run = start(submitCommand(true, pretrain));
    run.await("[pretrain] round 1/3", 300);
    run.process().destroyForcibly().waitFor(); // SIGKILL to the driver JVM (graft-submit execs it)

    Result resumed = submit(true, concat(pretrain, new String[] {"--resume"}));
    assertThat(resumed.exit()).as(resumed.output()).isZero();
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("resuming from the checkpoint of round (\\d)").matcher(resumed.output());
    assertThat(m.find()).as(resumed.output()).isTrue();
    int from = Integer.parseInt(m.group(1));
    assertThat(from).as("rounds kept of the 1+ finished before the kill").isGreaterThanOrEqualTo(1);
    assertThat(resumed.output()).doesNotContain("[pretrain] round " + from + "/3").contains("[pretrain] round 3/3");
    JsonNode prov = provenance("/graft/models/driver-killed");
    assertThat(prov.at("/resumedFromRound").asInt()).isEqualTo(from);
    assertThat(prov.at("/metrics/test_accuracy").asDouble()).isGreaterThan(0.8);
    List<String> metrics = lines(fs, "/graft/models/driver-killed/metrics.jsonl");
    assertThat(metrics).hasSize(3);
    for (int r = 0; r < 3; r++) {
      assertThat(new ObjectMapper().readTree(metrics.get(r)).get("round").asInt()).isEqualTo(r + 1);
    }
  }

  @Test
  @Order(6)
  void aWorkerKilledMidRoundCostsTheJobNothingButTime() throws Exception {
    importData();
    if (!fs.exists(new org.apache.hadoop.fs.Path(UNDISTURBED + "/provenance.json"))) { // when run alone
      Result undisturbed = submit(true, mlpPretrain(UNDISTURBED, 3, "graft"));
      assertThat(undisturbed.exit()).as(undisturbed.output()).isZero();
    }

    Running run = start(submitCommand(true, mlpPretrain("/graft/models/worker-killed", 3, "graft")));
    // the first barrier round's stage is submitted: kill a worker JVM (its executor exits with it)
    run.await("at BarrierRounds.java", 300);
    Process kill = new ProcessBuilder("kill", "-9", Files.readString(clusterDir.resolve("worker-2.pid")).trim()).start();
    assertThat(kill.waitFor()).isZero();
    Result r = run.finish(600);
    assertThat(r.exit()).as(r.output()).isZero();
    // either the running barrier job failed with the executor ("lost an executor"), or its tasks had not started and the
    // watchdog cancelled the stage Spark would have waited on for ever ("lost task slots (1 left for 2 partitions)")
    assertThat(run.fullOutput()).containsPattern("round 1: the barrier round lost (an executor|task slots \\(1 left for 2 partitions\\))")
        .contains("rerunning it as averaging steps");
    double before = provenance(UNDISTURBED).at("/metrics/test_accuracy").asDouble();
    double after = provenance("/graft/models/worker-killed").at("/metrics/test_accuracy").asDouble();
    System.out.printf("[LocalClusterIT] worker killed mid-round: test accuracy %.2f%% vs %.2f%% undisturbed%n", 100 * after, 100 * before);
    assertThat(after).isCloseTo(before, org.assertj.core.data.Offset.offset(0.01));
    assertThat(lines(fs, "/graft/models/worker-killed/metrics.jsonl")).hasSize(3);
  }

  /** 3 rounds on Graft's engine without faults (trained by the GPU test). */
  private static final String UNDISTURBED = "/graft/models/undisturbed";

  /** pretrain of a 64-unit MLP on the imported MNIST rows with 2 workers. */
  private static String[] mlpPretrain(String output, int epochs, String engine) {
    return mlpPretrainOn(nn, output, epochs, engine);
  }

  /** {@link #mlpPretrain} with its paths under {@code fs} (empty: bare paths, on the default filesystem). */
  private static String[] mlpPretrainOn(String fs, String output, int epochs, String engine) {
    return new String[] {"pretrain", "--set", "data.train=" + fs + "/graft/mnist/train", "--set", "data.test=" + fs + "/graft/mnist/test",
        "--set", "model.architecture=mlp", "--set", "model.hidden=[64]", "--set", "training.epochs=" + epochs, "--set",
        "training.batchSizePerWorker=32", "--set", "training.engine=" + engine, "--set", "output=" + fs + output};
  }

  /** Applications the standalone master has registered so far (its log). */
  private static long registeredApps() throws IOException {
    return Files.readString(clusterDir.resolve("master.log")).lines().filter(l -> l.contains("Registering app")).count();
  }

  private static JsonNode provenance(String model) throws IOException {
    try (var in = fs.open(new org.apache.hadoop.fs.Path(model + "/provenance.json"))) {
      return new ObjectMapper().readTree(in);
    }
  }

  private static byte[] bytes(FileSystem fs, org.apache.hadoop.fs.Path path) throws IOException {
    try (var in = fs.open(path)) {
      return in.readAllBytes();
    }
  }

  private static String[] concat(String[] a, String[] b) {
    String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  private static List<String> lines(FileSystem fs, String path) throws IOException {
    try (var in = fs.open(new org.apache.hadoop.fs.Path(path))) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().toList();
    }
  }

  /** graft-submit to the standalone master with 2 one-core executors; {@code hdfsDefault}: HDFS as the default filesystem. */
  private static Result submit(boolean hdfsDefault, String... command) throws Exception {
    return sh(600, java.util.Map.of(), submitCommand(hdfsDefault, command));
  }

  private static String[] submitCommand(boolean hdfsDefault, String... command) {
    List<String> args = new ArrayList<>(List.of(Commands.ROOT.resolve("deploy/bin/graft-submit").toString(), "--master", master,
        "--total-executor-cores", "2", "--executor-cores", "1", "--executor-memory", "1500m", "--driver-memory", "1500m"));
    if (hdfsDefault) {
      args.addAll(List.of("--conf", "spark.hadoop.fs.defaultFS=" + nn));
    }
    args.addAll(List.of(command));
    return args.toArray(String[]::new);
  }

  private static Result sh(int timeoutSeconds, String... command) throws Exception {
    return Commands.run(work, timeoutSeconds, java.util.Map.of(), command);
  }

  private static Result sh(int timeoutSeconds, java.util.Map<String, String> env, String... command) throws Exception {
    return Commands.run(work, timeoutSeconds, env, command);
  }

  private static Running start(String... command) throws Exception {
    return Commands.start(work, java.util.Map.of(), command);
  }
}

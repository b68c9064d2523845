package io.graft.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.graft.cluster.Commands.Result;
import io.graft.testing.TestData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code graft-submit --master yarn} with the shipped {@code deploy/conf/cluster/yarn.conf}, on a
 * ResourceManager and a NodeManager started by {@code deploy/local-cluster/yarn.sh} (separate
 * JVMs; Spark's application master and both executors run in YARN containers the NodeManager
 * launches). There is no Spark distribution here: graft-submit ships the Maven-resolved Spark jars
 * to the containers itself. The filesystem is the local one (one machine). Import and pre-training
 * run as the two stages of one pipeline: one application, one set of containers.
 */
class YarnClusterIT {
  @TempDir static Path work;
  static Path yarnDir;

  @BeforeAll
  static void startYarn() throws Exception {
    yarnDir = work.resolve("yarn");
    Result up = Commands.run(work, 180, Map.of(), script(), "start", "--memory", "6144", "--vcores", "4", "--port",
        Integer.toString(Commands.freePortBlock(5)), "--dir", yarnDir.toString());
    assertThat(up.exit()).as(up.output()).isZero();
    assertThat(up.output()).contains("with 1 NodeManager");
  }

  @AfterAll
  static void stopYarn() throws Exception {
    if (yarnDir != null) {
      Commands.run(work, 60, Map.of(), script(), "stop", "--dir", yarnDir.toString());
    }
  }

  @Test
  void importAndPretrainRunInYarnContainersThroughTheShippedConfig() throws Exception {
    Path mnist = TestData.raw("mnist");
    Path refusedOut = work.resolve("refused");
    // without the cluster's configuration Spark refuses before any work, naming what is missing
    Result noConf = Commands.run(work, 120, Map.of(), submitCommand("import", "--format", "idx", "--input",
        mnist.resolve("train-images-idx3-ubyte").toUri().toString(), "--output", refusedOut.toUri().toString(), "--num-classes", "10"));
    assertThat(noConf.exit()).as(noConf.output()).isNotZero();
    assertThat(noConf.output()).contains("either HADOOP_CONF_DIR or YARN_CONF_DIR must be set");
    assertThat(refusedOut).doesNotExist();

    // import and pretrain as one pipeline: one YARN application (its stages share the application's executors)
    Path root = work.resolve("pipeline");
    Path pipeline = Files.writeString(work.resolve("yarn.yaml"), """
        name: yarn
        stages:
          - {name: train, type: import, args: {format: idx, input: "%s", num-classes: 10, limit: 3000}, publish: data/train}
          - name: pretrain
            type: pretrain
            config:
              data: {train: "${train}"}
              model: {architecture: mlp, hidden: [64]}
              training: {epochs: 2, batchSizePerWorker: 32, engine: graft}
            publish: models/mlp
        """.formatted(mnist.resolve("train-images-idx3-ubyte").toUri()));
    Result trained = submit("pipeline", "run", pipeline.toString(), "--root", root.toUri().toString());
    assertThat(trained.exit()).as(trained.output()).isZero();
    Path train = root.resolve("data/train");
    Path model = root.resolve("models/mlp");
    assertThat(train.resolve("_manifest.json")).exists();
    // no test set: pretrain holds 10 % of the rows out
    assertThat(trained.output()).contains("[pretrain] round 2/2");
    JsonNode prov = new ObjectMapper().readTree(model.resolve("provenance.json").toFile());
    assertThat(prov.at("/cluster/master").asText()).isEqualTo("yarn");
    assertThat(prov.at("/cluster/workers").asInt()).isEqualTo(2);
    Matcher rows = Pattern.compile("on ([0-9,]+) training rows, ([0-9,]+) test rows").matcher(trained.output());
    assertThat(rows.find()).as(trained.output()).isTrue();
    long trainRows = Long.parseLong(rows.group(1).replace(",", ""));
    assertThat(trainRows + Long.parseLong(rows.group(2).replace(",", ""))).isEqualTo(3000);
    assertThat(prov.at("/inputs/train/rows").asLong()).isEqualTo(trainRows);
    assertThat(prov.at("/metrics/test_accuracy").asDouble()).isGreaterThan(0.8);
    assertThat(model.resolve("model.zip")).isNotEmptyFile();
    assertThat(Files.readAllLines(model.resolve("metrics.jsonl"))).hasSize(2);

    // the executors were YARN containers of the NodeManager, each set up by GraftPlugin before its first task
    List<String> executorLogs = Commands.executorLogsWithGraftPlugin(yarnDir.resolve("logs")).stream().map(Path::toString).toList();
    // two executors for the one application
    Map<String, Long> perApplication = executorLogs.stream()
        .collect(Collectors.groupingBy(p -> p.replaceAll(".*/(application_[0-9_]+)/.*", "$1"), TreeMap::new,
            Collectors.counting()));
    assertThat(perApplication.values()).as("executor containers per application under %s", yarnDir).containsExactly(2L);
  }

  private static String script() {
    return Commands.ROOT.resolve("deploy/local-cluster/yarn.sh").toString();
  }

  /** graft-submit to YARN through the shipped yarn.conf, scaled down to 2 one-core executors of 1 GB. */
  private static Result submit(String... command) throws Exception {
    return Commands.run(work, 600, Map.of("HADOOP_CONF_DIR", yarnDir.resolve("conf").toString()), submitCommand(command));
  }

  private static String[] submitCommand(String... command) {
    List<String> args = new ArrayList<>(List.of(Commands.ROOT.resolve("deploy/bin/graft-submit").toString(), "--properties-file",
        Commands.ROOT.resolve("deploy/conf/cluster/yarn.conf").toString(), "--master", "yarn", "--num-executors", "2", "--executor-cores", "1",
        "--executor-memory", "1g", "--conf", "spark.executor.memoryOverhead=768m", "--conf", "spark.yarn.am.memory=512m", "--driver-memory",
        "1500m"));
    args.addAll(List.of(command));
    return args.toArray(String[]::new);
  }
}

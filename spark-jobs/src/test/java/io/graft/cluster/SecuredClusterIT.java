package io.graft.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.graft.cluster.Commands.Result;
import io.graft.cluster.Commands.Running;
import io.graft.testing.TestData;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Spark standalone cluster with authentication and encryption on ({@code spark-standalone.sh
 * --secret-file}): a submit without the secret, or with another one, is refused and writes
 * nothing; with it, through the shipped {@code deploy/conf/cluster/standalone.conf}, the job
 * runs; and the secret appears in no log, output or provenance.
 */
class SecuredClusterIT {
  @TempDir static Path work;
  static Path clusterDir;
  static Path secretFile;
  static String secret;
  static String master;

  @BeforeAll
  static void startSecuredCluster() throws Exception {
    secret = HexFormat.of().formatHex(SecureRandom.getInstanceStrong().generateSeed(24));
    secretFile = work.resolve("spark.secret");
    Files.writeString(secretFile, secret + "\n");
    Files.setPosixFilePermissions(secretFile, PosixFilePermissions.fromString("rw-------"));
    clusterDir = work.resolve("spark");
    int port = Commands.freePort();
    Result started = Commands.run(work, 180, Map.of(), Commands.ROOT.resolve("deploy/local-cluster/spark-standalone.sh").toString(), "start",
        "--workers", "1", "--cores", "1", "--memory", "2g", "--secret-file", secretFile.toString(), "--port", Integer.toString(port),
        "--ui-port", Integer.toString(Commands.freePort()), "--dir", clusterDir.toString());
    assertThat(started.exit()).as(started.output()).isZero();
    assertThat(started.output()).contains("authentication and encryption on");
    master = "spark://127.0.0.1:" + port;
  }

  @AfterAll
  static void stopCluster() throws Exception {
    if (clusterDir != null) {
      Commands.run(work, 60, Map.of(), Commands.ROOT.resolve("deploy/local-cluster/spark-standalone.sh").toString(), "stop", "--dir",
          clusterDir.toString());
    }
  }

  @Test
  void onlyASubmitWithTheClustersSecretRunsAndTheSecretIsNeverWrittenDown() throws Exception {
    Path wrongSecret = work.resolve("wrong.secret");
    Files.writeString(wrongSecret, "not-the-secret\n");
    Path noSecretOut = work.resolve("out/no-secret");
    Path wrongSecretOut = work.resolve("out/wrong-secret");
    Path securedOut = work.resolve("out/secured");

    // the shipped config turns authentication on: without a secret graft-submit refuses at once, in one line
    Result noSecret = Commands.run(work, 120, Map.of(), submit(noSecretOut, null, true));
    assertThat(noSecret.exit()).as(noSecret.output()).isEqualTo(2);
    assertThat(noSecret.output()).contains("graft: error: spark.authenticate is on for the standalone master " + master
        + " but no secret was given: pass graft-submit --secret-file FILE");
    // a client without authentication, and one with another secret, are refused by the master at its first try: no
    // application is registered and nothing is written (Spark's client would try twice more, 20 s apart, then give up
    // with "All masters are unresponsive! Giving up."; the test stops it after the first refusal)
    Running unauthenticated = Commands.start(work, Map.of(), submit(noSecretOut, null, false));
    Running wrong = Commands.start(work, Map.of(), submit(wrongSecretOut, wrongSecret, true));
    String refusedLine = "Failed to connect to master " + master.substring("spark://".length());
    unauthenticated.await(refusedLine, 180);
    assertThat(unauthenticated.fullOutput()).contains("Expected SaslMessage");
    wrong.await(refusedLine, 180);
    assertThat(wrong.fullOutput()).contains("New auth protocol failed, trying SASL.");
    for (Running refused : List.of(unauthenticated, wrong)) {
      refused.process().destroy();
      assertThat(refused.process().waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
    }
    assertThat(Files.readString(clusterDir.resolve("master.log"))).doesNotContain("Registering app");
    assertThat(noSecretOut).doesNotExist();
    assertThat(wrongSecretOut).doesNotExist();

    Result ran = Commands.run(work, 300, Map.of(), submit(securedOut, secretFile, true));
    assertThat(ran.exit()).as(ran.output()).isZero();
    assertThat(securedOut.resolve("_manifest.json")).exists();

    List<Path> written = new ArrayList<>();
    for (Path dir : List.of(clusterDir, work.resolve("out"))) {
      try (var files = Files.walk(dir)) {
        files.filter(Files::isRegularFile).filter(f -> !f.startsWith(clusterDir.resolve("spark-home"))).forEach(written::add);
      }
    }
    try (var logs = Files.list(work)) {
      logs.filter(f -> f.getFileName().toString().startsWith("cmd")).forEach(written::add);
    }
    assertThat(written).as("logs, outputs and provenance").hasSizeGreaterThan(5);
    for (Path f : written) {
      assertThat(new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1)).as("%s", f).doesNotContain(secret);
    }
  }

  /** graft-submit import of 500 MNIST rows to a local folder, with {@code secret} (or none), with or without the shipped standalone.conf. */
  private static String[] submit(Path output, Path secret, boolean shippedConf) {
    List<String> args = new ArrayList<>(List.of(Commands.ROOT.resolve("deploy/bin/graft-submit").toString(), "--master", master));
    if (shippedConf) {
      args.addAll(List.of("--properties-file", Commands.ROOT.resolve("deploy/conf/cluster/standalone.conf").toString()));
    }
    args.addAll(List.of("--conf", "spark.cores.max=1", "--conf", "spark.executor.cores=1", "--conf", "spark.executor.memory=1g", "--conf",
        "spark.executor.memoryOverhead=512m", "--driver-memory", "1500m"));
    if (secret != null) {
      args.addAll(List.of("--secret-file", secret.toString()));
    }
    args.addAll(List.of("import", "--format", "idx", "--input", TestData.raw("mnist").resolve("train-images-idx3-ubyte").toUri().toString(),
        "--output", output.toUri().toString(), "--num-classes", "10", "--limit", "500"));
    return args.toArray(String[]::new);
  }
}

package io.graft.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.graft.cluster.Commands.Result;
import io.graft.testing.TestData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kerby.kerberos.kerb.client.KrbClient;
import org.apache.kerby.kerberos.kerb.type.ticket.TgtTicket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * HDFS with Kerberos ({@code hdfs.sh start --kerberos}: Hadoop's MiniKdc, a secure NameNode and
 * DataNode), reached through standard Hadoop configuration ({@code HADOOP_CONF_DIR},
 * {@code KRB5_CONFIG}): a job without credentials, with a missing keytab or with a principal the
 * keytab does not hold is refused in one line before Spark starts; with a keytab ({@code graft
 * --spark-conf spark.kerberos.*}, {@code graft-submit --principal/--keytab}) or a ticket cache
 * ({@code KRB5CCNAME}, what {@code kinit} writes) import, pre-training and evaluation read and write
 * the secure HDFS; the keytab appears in no output or provenance. The Kerberos client state stays
 * in the child JVMs: this JVM only writes the ticket cache, with Kerby, as kinit would.
 */
class KerberosClusterIT {
  private static final String PRINCIPAL = "graft@EXAMPLE.COM";
  @TempDir static Path work;
  static Path hdfsDir;
  static Path keytab;
  static String hdfs;

  @BeforeAll
  static void startSecureHdfs() throws Exception {
    hdfsDir = work.resolve("hdfs");
    int port = Commands.freePort();
    Result up = Commands.run(work, 240, Map.of(), script(), "start", "--kerberos", "--datanodes", "1", "--replication", "1", "--port",
        Integer.toString(port), "--http-port", Integer.toString(Commands.freePort()), "--dir", hdfsDir.toString());
    assertThat(up.exit()).as(up.output()).isZero();
    assertThat(up.output()).contains("Kerberos realm EXAMPLE.COM");
    keytab = hdfsDir.resolve("kdc/local.keytab");
    hdfs = "hdfs://127.0.0.1:" + port;
  }

  @AfterAll
  static void stopHdfs() throws Exception {
    if (hdfsDir != null) {
      Commands.run(work, 60, Map.of(), script(), "stop", "--dir", hdfsDir.toString());
    }
  }

  @Test
  void jobsNeedKerberosCredentialsAndRunWithAKeytabOrATicketCache() throws Exception {
    Path mnist = TestData.raw("mnist");
    String data = hdfs + "/graft/mnist";
    String[] importArgs = {"import", "--format", "idx", "--input", mnist.resolve("train-images-idx3-ubyte").toUri().toString(), "--labels",
        mnist.resolve("train-labels-idx1-ubyte").toUri().toString(), "--limit", "2000", "--output", data};

    // no ticket, no keytab: refused before Spark starts, in one line that says what to do
    Result refused = graft(Map.of(), importArgs);
    assertThat(refused.exit()).as(refused.output()).isEqualTo(2);
    assertThat(refused.output()).contains("graft: error: Hadoop security is kerberos but", "has no Kerberos ticket",
        "run kinit, or pass spark.kerberos.principal and spark.kerberos.keytab").doesNotContain("GraftSpark", "Exception");
    Result noKeytab = graft(Map.of(), withKeytab(PRINCIPAL, work.resolve("missing.keytab"), importArgs));
    assertThat(noKeytab.exit()).isEqualTo(2);
    assertThat(noKeytab.output()).contains("spark.kerberos.keytab " + work.resolve("missing.keytab") + " is not a readable file");
    Result wrongPrincipal = graft(Map.of(), withKeytab("nobody@EXAMPLE.COM", keytab, importArgs));
    assertThat(wrongPrincipal.exit()).isEqualTo(2);
    assertThat(wrongPrincipal.output()).contains("Kerberos login as nobody@EXAMPLE.COM from keytab " + keytab + " failed");

    // a keytab, named by Spark's own keys: the embedded launcher logs in and writes to the secure HDFS
    Result imported = graft(Map.of(), withKeytab(PRINCIPAL, keytab, importArgs));
    assertThat(imported.exit()).as(imported.output()).isZero();
    assertThat(imported.output()).contains("imported 2,000 rows", "into " + data);

    // graft-submit (spark-submit logs in from --principal/--keytab) trains on it with dl4j-spark, whose
    // exports need a delegation-token renewer outside YARN (GraftKerberos.sparkSettings)
    Path model = work.resolve("models/mlp");
    Result trained = Commands.run(work, 600, env(Map.of()), Commands.ROOT.resolve("deploy/bin/graft-submit").toString(), "--master", "local[2]",
        "--principal", PRINCIPAL, "--keytab", keytab.toString(), "--driver-memory", "2g", "pretrain", "--set", "data.train=" + data, "--set",
        "model.architecture=mlp", "--set", "model.hidden=[64]", "--set", "training.epochs=2", "--set", "training.batchSizePerWorker=32", "--set",
        "output=" + model.toUri());
    assertThat(trained.exit()).as(trained.output()).isZero();
    assertThat(trained.output()).contains("[pretrain] round 2/2");
    JsonNode prov = new ObjectMapper().readTree(model.resolve("provenance.json").toFile());
    assertThat(prov.at("/metrics/test_accuracy").asDouble()).isGreaterThan(0.6);
    assertThat(prov.at("/inputs/train/uri").asText()).isEqualTo(data);
    for (String file : List.of("provenance.json", "metrics.jsonl")) {
      assertThat(Files.readString(model.resolve(file))).as(file).doesNotContain("keytab", keytab.getFileName().toString());
    }

    // a ticket cache, as kinit writes it (KRB5CCNAME): no keytab in the job at all
    Path ccache = work.resolve("krb5cc_graft");
    KrbClient kinit = new KrbClient(hdfsDir.resolve("kdc").toFile());
    kinit.init();
    TgtTicket tgt = kinit.requestTgt(PRINCIPAL, keytab.toFile());
    kinit.storeTicket(tgt, ccache.toFile());
    Result evaluated = graft(Map.of("KRB5CCNAME", ccache.toString()), "evaluate", model.toUri().toString(), "--data", data);
    assertThat(evaluated.exit()).as(evaluated.output()).isZero();
    assertThat(evaluated.output()).containsPattern("accuracy=0\\.[6-9][0-9]{3} .* rows=2000");
  }

  private static String[] withKeytab(String principal, Path keytabFile, String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(List.of("--spark-conf", "spark.kerberos.principal=" + principal, "--spark-conf", "spark.kerberos.keytab=" + keytabFile));
    return all.toArray(String[]::new);
  }

  /** The client side of a Kerberized cluster: its Hadoop configuration and krb5.conf, and a modest driver. */
  private static Map<String, String> env(Map<String, String> extra) {
    Map<String, String> env = new HashMap<>(Map.of("HADOOP_CONF_DIR", hdfsDir.resolve("conf").toString(), "KRB5_CONFIG",
        hdfsDir.resolve("kdc/krb5.conf").toString(), "GRAFT_DRIVER_MEMORY", "2g"));
    env.putAll(extra);
    return env;
  }

  private static Result graft(Map<String, String> extra, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of(Commands.ROOT.resolve("deploy/bin/graft").toString()));
    command.addAll(List.of(args));
    return Commands.run(work, 300, env(extra), command.toArray(String[]::new));
  }

  private static String script() {
    return Commands.ROOT.resolve("deploy/local-cluster/hdfs.sh").toString();
  }
}

package io.graft.spark;

import io.graft.config.ConfigException;
import java.io.File;
import java.io.IOException;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.CommonConfigurationKeysPublic;
import org.apache.hadoop.security.UserGroupInformation;
import org.apache.spark.SparkConf;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Kerberos credentials for Hadoop filesystems, settled before Spark starts.
 *
 * <p>Hadoop security comes from standard Hadoop configuration ({@code hadoop.security.authentication=kerberos}
 * in {@code HADOOP_CONF_DIR/core-site.xml}, or {@code spark.hadoop.hadoop.security.authentication}).
 * The credentials are either a ticket cache ({@code kinit}; {@code KRB5CCNAME} names a non-default
 * one) or a keytab named by Spark's own keys {@code spark.kerberos.principal} and
 * {@code spark.kerberos.keytab}. spark-submit logs in from those for local and YARN masters; the
 * embedded launcher does the same here, so a nightly job needs no {@code kinit} cron. A job without
 * any credentials is refused in one line instead of failing at its first HDFS call deep inside
 * Spark with "Client cannot authenticate via:[TOKEN, KERBEROS]". Delegation tokens (a YARN or
 * Kubernetes driver, {@code HADOOP_TOKEN_FILE_LOCATION}) count as credentials.
 */
public final class GraftKerberos {
  private static final Logger LOG = LoggerFactory.getLogger(GraftKerberos.class);
  static final String PRINCIPAL = "spark.kerberos.principal";
  static final String KEYTAB = "spark.kerberos.keytab";
  static final String RENEWER = "spark.hadoop.yarn.resourcemanager.principal";
  private static final String AUTHENTICATION = "spark.hadoop." + CommonConfigurationKeysPublic.HADOOP_SECURITY_AUTHENTICATION;

  private GraftKerberos() {}

  /**
   * Logs in from the configured keytab, if any, and checks that a Kerberized Hadoop has credentials.
   * Every command with Spark options runs this before it validates its inputs.
   *
   * @param extra the command's {@code --spark-conf} settings (over spark-submit's, if any)
   * @throws ConfigException naming the missing key, the missing keytab, the failed login or the
   *     missing ticket
   */
  public static void login(Map<String, String> extra) {
    SparkConf conf = new SparkConf(true);
    extra.forEach(conf::set);
    login(conf);
  }

  static void login(SparkConf conf) {
    String principal = conf.get(PRINCIPAL, null);
    String keytab = conf.get(KEYTAB, null);
    if ((principal == null) != (keytab == null)) {
      throw new ConfigException(String.format("%s needs %s too (the keytab holding the principal's key)", principal == null ? KEYTAB : PRINCIPAL,
          principal == null ? PRINCIPAL : KEYTAB));
    }
    if (conf.contains(AUTHENTICATION)) {
      UserGroupInformation.setConfiguration(hadoopConfiguration(conf));
    }
    if (!UserGroupInformation.isSecurityEnabled()) {
      if (keytab != null) {
        LOG.warn("{} is set but Hadoop security is off (hadoop.security.authentication is not kerberos): not logging in", KEYTAB);
      }
      return;
    }
    try {
      if (keytab != null) {
        fromKeytab(principal, keytab);
      }
      UserGroupInformation user = UserGroupInformation.getCurrentUser();
      UserGroupInformation real = user.getRealUser() != null ? user.getRealUser() : user;
      if (!real.hasKerberosCredentials() && user.getCredentials().numberOfTokens() == 0 && real.getCredentials().numberOfTokens() == 0) {
        throw new ConfigException("Hadoop security is kerberos but " + user.getUserName() + " has no Kerberos ticket"
            + (System.getenv("KRB5CCNAME") != null ? " in " + System.getenv("KRB5CCNAME") : "") + ": run kinit, or pass " + PRINCIPAL
            + " and " + KEYTAB);
      }
    } catch (IOException e) {
      throw new ConfigException("Kerberos: cannot read the current user's credentials: " + e.getMessage());
    }
  }

  private static void fromKeytab(String principal, String keytab) throws IOException {
    if (!new File(keytab).isFile()) {
      throw new ConfigException(KEYTAB + " " + keytab + " is not a readable file");
    }
    UserGroupInformation current = UserGroupInformation.getLoginUser();
    if (current.isFromKeytab() && principal.equals(current.getUserName())) {
      return; // spark-submit logged in already
    }
    try {
      UserGroupInformation.loginUserFromKeytab(principal, keytab);
    } catch (IOException e) {
      throw new ConfigException("Kerberos login as " + principal + " from keytab " + keytab + " failed: " + rootMessage(e));
    }
    LOG.info("Kerberos: logged in as {} from keytab {}", principal, keytab);
  }

  /**
   * Spark settings a Kerberized Hadoop needs outside YARN. dl4j-spark's training masters export
   * each round's minibatches with {@code saveAsTextFile} and count them with {@code textFile}: the
   * old {@code mapred} API, whose {@code FileOutputFormat.checkOutputSpecs} and
   * {@code FileInputFormat.listStatus} ask the NameNode for delegation tokens renewable by YARN's
   * ResourceManager principal. With no YARN configuration (local, standalone and Kubernetes masters)
   * both fail with "Can't get Master Kerberos principal for use as renewer" before the first round.
   * The renewer is set to the logged-in principal: the tokens are then the driver's own, which is
   * all a driver holding a ticket needs. A cluster's own {@code yarn.resourcemanager.principal}
   * (in {@code spark.hadoop.*}) is kept.
   */
  static void sparkSettings(SparkConf conf) {
    if (!UserGroupInformation.isSecurityEnabled() || conf.get("spark.master", "").startsWith("yarn")) {
      return;
    }
    try {
      UserGroupInformation login = UserGroupInformation.getLoginUser();
      if (login.hasKerberosCredentials()) {
        conf.setIfMissing(RENEWER, login.getUserName());
      }
    } catch (IOException e) {
      LOG.warn("Kerberos: cannot read the login user ({}); leaving {} unset", e.getMessage(), RENEWER);
    }
  }

  /** The Hadoop configuration Spark will use: the classpath's {@code *-site.xml} plus {@code spark.hadoop.*}. */
  static Configuration hadoopConfiguration(SparkConf conf) {
    Configuration hadoop = new Configuration();
    for (scala.Tuple2<String, String> e : conf.getAll()) {
      if (e._1().startsWith("spark.hadoop.")) {
        hadoop.set(e._1().substring("spark.hadoop.".length()), e._2());
      }
    }
    return hadoop;
  }

  private static String rootMessage(Throwable t) {
    Throwable c = t;
    while (c.getCause() != null && c.getCause() != c) {
      c = c.getCause();
    }
    return c == t ? String.valueOf(t.getMessage()) : t.getMessage() + " (" + c.getMessage() + ")";
  }
}

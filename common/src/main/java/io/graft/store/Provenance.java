package io.graft.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.Map;
import java.util.Properties;
import org.apache.hadoop.fs.Path;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The {@code provenance.json} written beside every model: which job made it, from what config and
 * inputs (with row counts and checksums), with which seed, code and library versions, and what it
 * scored. A model directory answers "where did you come from?" on its own.
 */
public final class Provenance {
  public static final String FILE_NAME = "provenance.json";
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private final ObjectNode root = JSON.createObjectNode();

  public Provenance(String job) {
    root.put("job", job);
    root.put("createdAt", Instant.now().toString());
    ObjectNode versions = root.putObject("versions");
    versions.put("graft", BuildInfo.version());
    versions.put("gitCommit", BuildInfo.gitCommit());
    versions.put("dl4j", BuildInfo.property("dl4j.version"));
    versions.put("dl4jSpark", BuildInfo.property("dl4j.spark.version"));
    versions.put("spark", BuildInfo.property("spark.version"));
    versions.put("hadoop", BuildInfo.property("hadoop.version"));
    versions.put("java", System.getProperty("java.version"));
    versions.put("nd4jBackend", BuildInfo.nd4jBackend());
  }

  public ObjectNode root() {
    return root;
  }

  public Provenance config(Object config) {
    root.set("config", JSON.valueToTree(config));
    return this;
  }

  public Provenance seed(long seed) {
    root.put("seed", seed);
    return this;
  }

  /** Records one input: its URI, rows, and the manifest's source checksums. */
  public Provenance input(String role, String uri, long rows, JsonNode details) {
    ObjectNode in = root.withObject("/inputs").putObject(role);
    in.put("uri", uri);
    in.put("rows", rows);
    if (details != null) {
      in.set("details", details);
    }
    return this;
  }

  public Provenance metrics(Map<String, ?> metrics) {
    root.set("metrics", JSON.valueToTree(metrics));
    return this;
  }

  public Provenance put(String key, Object value) {
    root.set(key, JSON.valueToTree(value));
    return this;
  }

  public String toJson() {
    try {
      return JSON.writeValueAsString(root);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  public void write(Storage storage, Path dir) throws IOException {
    storage.writeString(new Path(dir, FILE_NAME), toJson());
  }

  public static JsonNode read(Storage storage, Path dir) throws IOException {
    return JSON.readTree(storage.readString(new Path(dir, FILE_NAME)));
  }

  /** Versions and the git commit, filtered into graft-build.properties at build time. */
  public static final class BuildInfo {
    private static final Properties PROPS = load();

    private BuildInfo() {}

    private static Properties load() {
      Properties p = new Properties();
      try (InputStream in = Provenance.class.getResourceAsStream("/graft-build.properties")) {
        if (in != null) {
          p.load(in);
        }
      } catch (IOException ignored) {
        // versions then read "unknown"
      }
      return p;
    }

    public static String property(String key) {
      String v = PROPS.getProperty(key);
      return v == null || v.startsWith("${") ? "unknown" : v;
    }

    public static String version() {
      return property("graft.version");
    }

    public static String gitCommit() {
      String fromEnv = System.getenv("GRAFT_GIT_COMMIT");
      if (fromEnv != null && !fromEnv.isBlank()) {
        return fromEnv;
      }
      return property("git.commit");
    }

    public static String nd4jBackend() {
      try {
        return Nd4j.getBackend().getClass().getSimpleName();
      } catch (Throwable t) {
        return "unavailable";
      }
    }
  }
}

package io.graft.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.graft.store.Storage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.fs.Path;

/**
 * {@code metrics.jsonl}: one JSON object per round. While a job trains it is rewritten atomically
 * after every round in {@code OUTPUT/_checkpoint/} (follow it there); the job writes it beside the
 * model when it publishes, so a job that dies never leaves its rounds next to a previous run's model.
 */
public final class MetricsLog {
  public static final String FILE_NAME = "metrics.jsonl";
  private static final ObjectMapper JSON = new ObjectMapper();

  private MetricsLog() {}

  public static void write(Storage storage, Path output, List<RoundMetrics> history) throws IOException {
    StringBuilder sb = new StringBuilder();
    for (RoundMetrics m : history) {
      sb.append(JSON.writeValueAsString(m.toMap())).append('\n');
    }
    storage.writeString(new Path(output, FILE_NAME), sb.toString());
  }

  public static List<JsonNode> read(Storage storage, Path output) throws IOException {
    List<JsonNode> lines = new ArrayList<>();
    for (String line : storage.readString(new Path(output, FILE_NAME)).split("\n")) {
      if (!line.isBlank()) {
        lines.add(JSON.readTree(line));
      }
    }
    return lines;
  }
}

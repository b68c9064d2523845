package io.graft.pipeline.runner;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.graft.engine.Checkpoints;
import io.graft.pipeline.PipelinePlan;
import io.graft.store.Provenance;
import io.graft.store.Storage;
import java.io.IOException;
import java.util.UUID;
import java.util.function.Consumer;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.FileUtil;
import org.apache.hadoop.fs.Path;

/** What a finished stage leaves: its done marker, its headline figures, and its published copy. */
final class StageOutputs {
  private StageOutputs() {}

  /** Headline figures of a finished instance: its provenance's metrics, or a diagnostics result's numbers. */
  static ObjectNode metrics(Storage storage, PipelinePlan.Instance i) throws IOException {
    ObjectNode out = PipelineRunner.JSON.createObjectNode();
    Path dir = storage.path(i.output());
    if (storage.exists(new Path(dir, Provenance.FILE_NAME))) {
      JsonNode m = Provenance.read(storage, dir).path("metrics");
      m.fields().forEachRemaining(e -> {
        if (e.getValue().isNumber()) {
          out.set(e.getKey(), e.getValue());
        }
      });
    }
    if ("result.json".equals(i.type().outputChild()) && storage.exists(new Path(dir, "result.json"))) {
      JsonNode r = PipelineRunner.JSON.readTree(storage.readString(new Path(dir, "result.json")));
      numbers(r, "", out, 0);
      JsonNode verdict = r.path("verdict").path("outcome");
      if (verdict.isTextual()) {
        out.put("verdict", verdict.asText());
      }
    }
    return out;
  }

  private static void numbers(JsonNode node, String prefix, ObjectNode out, int depth) {
    if (depth > 2 || out.size() >= 16) {
      return;
    }
    node.fields().forEachRemaining(e -> {
      String k = prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey();
      if (e.getValue().isNumber()) {
        out.set(k, e.getValue());
      } else if (e.getValue().isObject()) {
        numbers(e.getValue(), k, out, depth + 1);
      }
    });
  }

  static JsonNode readMarker(Storage storage, Path dir) throws IOException {
    Path file = new Path(dir, PipelineRunner.MARKER);
    if (!storage.exists(file)) {
      return null;
    }
    return PipelineRunner.JSON.readTree(storage.readString(file));
  }

  /** Copies a finished output to its {@code publish} path atomically, unless that copy already has the same key. */
  static void publish(Storage storage, PipelinePlan plan, PipelinePlan.Instance i, Consumer<String> log) throws IOException {
    if (i.publish() == null) {
      return;
    }
    Path target = storage.path(plan.publishPath(i));
    JsonNode published = readMarker(storage, target);
    if (published != null && i.key().equals(published.path("key").asText())) {
      return;
    }
    Path source = storage.path(i.output());
    FileSystem dstFs = storage.fs(target);
    Path staged = new Path(target.getParent(), "._staging-" + target.getName() + "-" + UUID.randomUUID());
    try {
      copy(storage, storage.fs(source), source, dstFs, staged);
      storage.replaceDirectory(staged, target);
    } finally {
      if (dstFs.exists(staged)) {
        dstFs.delete(staged, true);
      }
    }
    log.accept("  published " + i.name() + " to " + target);
  }

  private static void copy(Storage storage, FileSystem srcFs, Path src, FileSystem dstFs, Path dst) throws IOException {
    dstFs.mkdirs(dst);
    for (FileStatus f : srcFs.listStatus(src)) {
      String name = f.getPath().getName();
      if (name.equals(Checkpoints.DIR) || name.startsWith(".")) {
        continue;
      }
      if (f.isDirectory()) {
        copy(storage, srcFs, f.getPath(), dstFs, new Path(dst, name));
      } else {
        FileUtil.copy(srcFs, f.getPath(), dstFs, new Path(dst, name), false, storage.conf());
      }
    }
  }
}

package io.graft.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.graft.store.Storage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.BiConsumer;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;

/**
 * A stage's inputs outside the pipeline: the settings its job marks as inputs ({@link InputKeys})
 * are checked to exist before anything runs, and the watched ones are fingerprinted into the
 * stage's key, so new data reruns it.
 */
final class StageInputs {
  private StageInputs() {}

  /** The watched inputs' plain (non-reference) locations: the {@code watch} list and the settings {@code keys} watch. */
  static List<String> watchList(PipelineSpec.StageSpec s, ObjectNode settings, InputKeys keys) {
    List<String> out = new ArrayList<>(s.watch());
    visit(settings, "", "", keys.watched(), (location, key) -> {
      if (!location.contains("${")) {
        out.add(location);
      }
    });
    return out;
  }

  /** Size, file count and newest modification time under {@code location}. */
  static String fingerprint(Storage storage, String location, String where) {
    try {
      Path p = storage.path(location);
      if (!storage.exists(p)) {
        throw new PipelineException(where + ": watched input not found: " + location);
      }
      FileStatus st = storage.status(p);
      long files = 0;
      long bytes = 0;
      long newest = 0;
      if (st.isFile()) {
        files = 1;
        bytes = st.getLen();
        newest = st.getModificationTime();
      } else {
        RemoteIterator<LocatedFileStatus> it = storage.fs(p).listFiles(p, true);
        while (it.hasNext()) {
          LocatedFileStatus f = it.next();
          files++;
          bytes += f.getLen();
          newest = Math.max(newest, f.getModificationTime());
        }
      }
      return files + " files, " + bytes + " bytes, modified " + newest;
    } catch (IOException e) {
      throw new PipelineException(where + ": cannot read watched input " + location + ": " + e.getMessage(), e);
    }
  }

  /** Checks that every location the input settings name exists, unless an earlier stage produces it. */
  static void checkInputs(ObjectNode settings, InputKeys keys, Storage storage, String where, Set<String> produced) {
    visit(settings, "", "", keys.paths(), (location, key) -> requireInput(storage, location, key, where, produced));
  }

  /**
   * Calls {@code found} with each string (or each string of a list) at one of {@code paths} in
   * {@code node}, and the key it stands under ({@code tasks[1].train}).
   *
   * @param path the node's path as {@code paths} write it ({@code tasks[].train})
   * @param key the node's key with list indices
   */
  private static void visit(JsonNode node, String path, String key, Set<String> paths, BiConsumer<String, String> found) {
    if (node instanceof ObjectNode o) {
      o.fields().forEachRemaining(e -> {
        String p = path.isEmpty() ? e.getKey() : path + "." + e.getKey();
        String k = key.isEmpty() ? e.getKey() : key + "." + e.getKey();
        JsonNode v = e.getValue();
        if (paths.contains(p)) {
          if (v.isTextual()) {
            found.accept(v.asText(), k);
          } else if (v.isArray()) {
            v.forEach(x -> {
              if (x.isTextual()) {
                found.accept(x.asText(), k);
              }
            });
          }
        } else {
          visit(v, p, k, paths, found);
        }
      });
    } else if (node instanceof ArrayNode a) {
      int i = 0;
      for (JsonNode child : a) {
        visit(child, path + "[]", key + "[" + i++ + "]", paths, found);
      }
    }
  }

  private static void requireInput(Storage storage, String location, String key, String where, Set<String> produced) {
    // outputs of earlier stages need not exist yet when planning; the stage that writes them is checked instead
    if (produced.stream().anyMatch(location::startsWith)) {
      return;
    }
    try {
      if (!storage.exists(storage.path(location))) {
        throw new PipelineException(where + ": input '" + key + "' not found: " + location);
      }
    } catch (IOException e) {
      throw new PipelineException(where + ": cannot check input '" + key + "' " + location + ": " + e.getMessage(), e);
    }
  }
}

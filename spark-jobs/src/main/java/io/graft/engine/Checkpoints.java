package io.graft.engine;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.graft.config.ConfigException;
import io.graft.store.Storage;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;

/**
 * The checkpoint a job writes after every round, under {@code OUTPUT/_checkpoint/}: the network
 * with its updater state (so Adam's moments and iteration count carry over), and
 * {@code state.json} with the round counter, the seed, the config and every round's metrics.
 * The zip is written first and {@code state.json} last, each atomically, so the state always
 * names a complete model.
 */
public final class Checkpoints {
  public static final String DIR = "_checkpoint";
  private static final String STATE = "state.json";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Storage storage;
  private final Path dir;

  public Checkpoints(Storage storage, Path output) {
    this.storage = storage;
    this.dir = new Path(output, DIR);
  }

  public Path dir() {
    return dir;
  }

  /** What a checkpoint restores. */
  public record State(int round, long seed, JsonNode config, List<RoundMetrics> history, String model, JsonNode extra) {}

  public boolean exists() throws IOException {
    return storage.exists(new Path(dir, STATE));
  }

  /** Saves a round's checkpoint; {@code extra} is job-specific state (stage, best round, ...). */
  public void save(int round, long seed, Object config, List<RoundMetrics> history, Model network, JsonNode extra)
      throws IOException {
    String modelName = String.format("round-%04d.zip", round);
    Path model = new Path(dir, modelName);
    storage.writeAtomically(model, out -> ModelSerializer.writeModel(network, out, true));
    ObjectNode state = JSON.createObjectNode();
    state.put("round", round);
    state.put("seed", seed);
    state.put("model", modelName);
    state.set("config", JSON.valueToTree(config));
    state.set("history", JSON.valueToTree(history.stream().map(RoundMetrics::toMap).toList()));
    if (extra != null) {
      state.set("extra", extra);
    }
    storage.writeString(new Path(dir, STATE), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(state));
    if (round > 1) {
      Path previous = new Path(dir, String.format("round-%04d.zip", round - 1));
      if (storage.exists(previous)) {
        storage.delete(previous);
      }
    }
  }

  public State load() throws IOException {
    if (!exists()) {
      throw new ConfigException("Nothing to resume: no checkpoint at " + dir);
    }
    JsonNode state = JSON.readTree(storage.readString(new Path(dir, STATE)));
    List<Map<String, Object>> raw = JSON.convertValue(state.get("history"), new TypeReference<>() {});
    List<RoundMetrics> history = new ArrayList<>();
    for (Map<String, Object> m : raw) {
      history.add(RoundMetrics.fromMap(m));
    }
    return new State(state.get("round").asInt(), state.get("seed").asLong(), state.get("config"), history, state.get("model").asText(),
        state.get("extra"));
  }

  /** The checkpoint's network with its updater state, as the type the job trains. */
  public <N extends Model> N loadModel(State state, Class<N> type) throws IOException {
    try (InputStream in = storage.open(new Path(dir, state.model()))) {
      Model model = type == ComputationGraph.class ? ModelSerializer.restoreComputationGraph(in, true)
          : ModelSerializer.restoreMultiLayerNetwork(in, true);
      return type.cast(model);
    }
  }

  /** Saves a side network (e.g. the best round's model) next to the checkpoint. */
  public void saveNetwork(String name, Model network) throws IOException {
    storage.writeAtomically(new Path(dir, name), out -> ModelSerializer.writeModel(network, out, false));
  }

  /** A side network saved by {@link #saveNetwork}, as a graph. */
  public ComputationGraph loadGraph(String name) throws IOException {
    try (InputStream in = storage.open(new Path(dir, name))) {
      return ModelSerializer.restoreComputationGraph(in, true);
    }
  }

  public MultiLayerNetwork loadNetwork(String name) throws IOException {
    Path model = new Path(dir, name);
    try (InputStream in = storage.open(model)) {
      return ModelSerializer.restoreMultiLayerNetwork(in, true);
    }
  }

  public void delete() throws IOException {
    if (storage.exists(dir)) {
      storage.delete(dir);
    }
  }

  /**
   * Checks that {@code --resume} can continue: a checkpoint exists, its config is compatible with
   * {@code config} (only {@code training.epochs} may differ) and it is not past the last round. A
   * checkpoint at the last round is a run that died while publishing: resuming runs no round and
   * publishes it.
   */
  public void requireResumable(Object config, int epochs) throws IOException {
    State state = load();
    requireCompatible(state.config(), JSON.valueToTree(config), List.of("training.epochs"));
    if (state.round() > epochs) {
      throw new ConfigException("Cannot resume: the checkpoint at " + dir + " is at round " + state.round() + ", past training.epochs "
          + epochs + " (raise training.epochs to train further)");
    }
  }

  /**
   * Refuses to resume under a config whose model, data or optimiser differ from the checkpoint's
   * (only the epoch count may grow). Names the first differing key.
   */
  public static void requireCompatible(JsonNode saved, JsonNode current, List<String> mayDiffer) {
    String diff = firstDifference("", saved, current, mayDiffer);
    if (diff != null) {
      throw new ConfigException("Cannot resume: config key '" + diff + "' differs from the checkpoint's (start without --resume to train afresh)");
    }
  }

  private static String firstDifference(String prefix, JsonNode a, JsonNode b, List<String> mayDiffer) {
    if (mayDiffer.contains(prefix)) {
      return null;
    }
    if (a != null && b != null && a.isObject() && b.isObject()) {
      Set<String> keys = new TreeSet<>();
      a.fieldNames().forEachRemaining(keys::add);
      b.fieldNames().forEachRemaining(keys::add);
      for (Iterator<String> it = keys.iterator(); it.hasNext(); ) {
        String k = it.next();
        String d = firstDifference(prefix.isEmpty() ? k : prefix + "." + k, a.get(k), b.get(k), mayDiffer);
        if (d != null) {
          return d;
        }
      }
      return null;
    }
    boolean same;
    if (a != null && b != null && a.isNumber() && b.isNumber()) {
      same = a.decimalValue().compareTo(b.decimalValue()) == 0; // 0 (int) and 0 (long) are the same setting
    } else {
      same = a == null ? b == null || b.isNull() : a.equals(b) || (b == null && a.isNull());
    }
    return same ? null : prefix;
  }
}

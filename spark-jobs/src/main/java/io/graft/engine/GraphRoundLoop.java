package io.graft.engine;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.graft.store.Storage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.graph.ComputationGraph;

/**
 * The round loop of the shared-trunk stages (multi-task, domain-adversarial): each round trains
 * through {@link SyncAveraging} and evaluates (the job's {@link Body}), then the loop records the
 * round's metrics, writes {@code metrics.jsonl} (beside the checkpoint while training; the job
 * publishes it beside the model) and a checkpoint (graph with updater state, and
 * every round's metrics so {@code --resume} continues the log), and prints a progress line.
 */
public final class GraphRoundLoop {
  private static final ObjectMapper JSON = new ObjectMapper();

  private GraphRoundLoop() {}

  /** Where and how the loop records its rounds. */
  public record Spec(String job, int rounds, long seed, Object config, Storage storage, Path output, Checkpoints checkpoints,
      Consumer<String> log) {}

  /** One round's work: train, evaluate, and return the round's figures (wall_s included). */
  @FunctionalInterface
  public interface Body {
    Map<String, Object> run(int round) throws Exception;
  }

  /** Runs rounds {@code startRound + 1 .. rounds} and returns the full history. */
  public static List<Map<String, Object>> run(Spec spec, ComputationGraph graph, int startRound, List<Map<String, Object>> history, Body body,
      Function<Map<String, Object>, String> summary) throws Exception {
    double elapsed = 0;
    int seen = 0;
    for (int round = startRound + 1; round <= spec.rounds(); round++) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("round", round);
      m.put("rounds", spec.rounds());
      m.putAll(body.run(round));
      history.add(m);
      ObjectNode extra = JSON.createObjectNode();
      extra.set("history", JSON.valueToTree(history));
      spec.checkpoints().save(round, spec.seed(), spec.config(), List.of(), graph, extra);
      MetricsLog.writeMaps(spec.storage(), spec.checkpoints().dir(), history);
      elapsed += ((Number) m.getOrDefault("wall_s", 0.0)).doubleValue();
      seen++;
      double eta = elapsed / seen * (spec.rounds() - round);
      spec.log().accept(String.format("[%s] round %d/%d  %s  %.1f s  ETA %s", spec.job(), round, spec.rounds(), summary.apply(m),
          ((Number) m.getOrDefault("wall_s", 0.0)).doubleValue(), ProgressReporter.formatDuration(eta)));
    }
    return history;
  }

  /** Where a run begins: the fresh graph at round 0, or (with {@code --resume}) the checkpoint's graph, round and rounds so far. */
  public record Start(ComputationGraph graph, int round, List<Map<String, Object>> history) {}

  /** Loads the checkpoint under {@code resume}; otherwise starts from {@code fresh}, saying so when an old checkpoint is replaced. */
  public static Start start(Checkpoints checkpoints, ComputationGraph fresh, boolean resume, Consumer<String> log) throws IOException {
    if (resume) {
      Checkpoints.State state = checkpoints.load();
      log.accept("resuming from the checkpoint of round " + state.round() + " at " + checkpoints.dir());
      return new Start(checkpoints.loadGraph(state), state.round(), restoredHistory(state));
    }
    if (checkpoints.exists()) {
      log.accept("starting afresh; the old checkpoint at " + checkpoints.dir() + " is replaced (pass --resume to continue it)");
    }
    return new Start(fresh, 0, new ArrayList<>());
  }

  /** The rounds a checkpoint recorded. */
  public static List<Map<String, Object>> restoredHistory(Checkpoints.State state) {
    if (state.extra() == null || state.extra().get("history") == null) {
      return new ArrayList<>();
    }
    return new ArrayList<>(JSON.convertValue(state.extra().get("history"), new TypeReference<List<Map<String, Object>>>() {}));
  }
}

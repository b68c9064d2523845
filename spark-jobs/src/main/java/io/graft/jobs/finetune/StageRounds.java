package io.graft.jobs.finetune;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.graft.engine.RoundListener;
import io.graft.engine.RoundLoop;
import io.graft.engine.TrainingRun;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;
import org.deeplearning4j.nn.api.Model;

/**
 * The bookkeeping of fine-tuning's stages, whatever the network: where a resumed run picks up
 * (stage, rounds into it), the best validation round so far (saved aside under early stopping),
 * rounds without improvement, and the checkpoint state that records them.
 */
final class StageRounds {
  private static final ObjectMapper JSON = new ObjectMapper();

  final int startStage;
  final int doneInStage;
  private double best = -1;
  private int bestRound;
  private int stageIndex;
  private int inStage;
  private int sinceBest;
  private final List<Double> roundSeconds = new ArrayList<>();

  private StageRounds(int startStage, int doneInStage) {
    this.startStage = startStage;
    this.doneInStage = doneInStage;
  }

  /** A fresh run's, or a resumed run's from its checkpoint state (logged). */
  static StageRounds start(TrainingRun run, boolean resume, Consumer<String> log) {
    if (!resume) {
      return new StageRounds(0, 0);
    }
    JsonNode state = run.resumedState();
    StageRounds r = new StageRounds(state.get("stage").asInt(), state.get("roundsInStage").asInt());
    r.best = state.get("bestAccuracy").asDouble();
    r.bestRound = state.get("bestRound").asInt();
    log.accept("resuming after round " + run.startRound() + " (stage " + (r.startStage + 1) + ", " + r.doneInStage + " round(s) into it)");
    return r;
  }

  /** Rounds of stage {@code index} already run (a resumed run's first stage), which this stage skips. */
  int skip(int index) {
    return index == startStage ? doneInStage : 0;
  }

  /** Starts counting stage {@code index}'s rounds. */
  void beginStage(int index) {
    stageIndex = index;
    inStage = skip(index);
    sinceBest = 0;
    roundSeconds.clear();
  }

  /** Tracks the best validation round; with {@code saveBest}, writes its network aside. */
  RoundListener listener(IoConsumer<Model> saveBest) {
    return (m, net) -> {
      inStage++;
      roundSeconds.add(m.wallSeconds());
      if (m.evalAccuracy() > best) {
        best = m.evalAccuracy();
        bestRound = m.round();
        sinceBest = 0;
        if (saveBest != null) {
          saveBest.accept(net);
        }
      } else {
        sinceBest++;
      }
    };
  }

  /** The checkpoint state a resumed run reads back. */
  Function<io.graft.engine.RoundMetrics, JsonNode> state() {
    return m -> {
      ObjectNode state = JSON.createObjectNode();
      state.put("stage", stageIndex);
      state.put("roundsInStage", inStage);
      state.put("bestAccuracy", best);
      state.put("bestRound", bestRound);
      return state;
    };
  }

  /** Stops a stage after {@code patience} rounds without a better validation accuracy (null: never). */
  RoundLoop.StopRule stop(FinetuneConfig config) {
    return config.earlyStopping() == null ? null : m -> sinceBest >= config.earlyStopping().patience();
  }

  int roundsInStage() {
    return inStage;
  }

  double meanRoundSeconds() {
    return roundSeconds.stream().mapToDouble(Double::doubleValue).average().orElse(0);
  }

  double best() {
    return best;
  }

  int bestRound() {
    return bestRound;
  }

  /** Saves a network (the best round's, aside). */
  @FunctionalInterface
  interface IoConsumer<T> {
    void accept(T t) throws IOException;
  }
}

package io.graft.engine;

import com.fasterxml.jackson.databind.JsonNode;
import io.graft.store.Provenance;
import io.graft.store.Storage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.util.ModelSerializer;

/**
 * The skeleton every training job fills in, around its own data and round loop: where a run
 * starts (a fresh network at round 0, or with {@code --resume} the checkpoint's network, round,
 * rounds so far and job state), what every round leaves (the round's metrics in the history, a
 * checkpoint, {@code metrics.jsonl} beside it, a progress line), and how a finished run is
 * published (model files, then {@code metrics.jsonl} and {@code provenance.json}, each atomically,
 * then the checkpoint and the work folder removed).
 */
public final class TrainingRun {
  /** Scratch space under the output (dl4j-spark's exported minibatches), removed when the job finishes. */
  public static final String WORK_DIR = "_work";
  /** How often a long round says how far it is. */
  static final long PROGRESS_INTERVAL_MILLIS = 15_000;

  private final String job;
  private final Storage storage;
  private final Path output;
  private final Checkpoints checkpoints;
  private final long seed;
  private final Object config;
  private final Consumer<String> log;
  private final List<RoundMetrics> history = new ArrayList<>();
  private int startRound;
  private JsonNode resumedState;

  /**
   * @param config the job's config, saved with every checkpoint and compared on {@code --resume}
   */
  public TrainingRun(String job, Storage storage, Path output, Checkpoints checkpoints, long seed, Object config, Consumer<String> log) {
    this.job = job;
    this.storage = storage;
    this.output = output;
    this.checkpoints = checkpoints;
    this.seed = seed;
    this.config = config;
    this.log = log;
  }

  /**
   * The network the run starts from: with {@code resume} the checkpoint's (its rounds so far go
   * into {@link #history()}); otherwise a {@code fresh} one, saying so when an old checkpoint is replaced.
   */
  public <N extends Model> N start(boolean resume, Supplier<N> fresh, Class<N> type) throws IOException {
    if (!resume) {
      if (checkpoints.exists()) {
        log.accept("starting afresh; the old checkpoint at " + checkpoints.dir() + " is replaced (pass --resume to continue it)");
      }
      return fresh.get();
    }
    Checkpoints.State state = checkpoints.load();
    startRound = state.round();
    history.addAll(state.history());
    resumedState = state.extra();
    log.accept("resuming from the checkpoint of round " + startRound + " at " + checkpoints.dir());
    return checkpoints.loadModel(state, type);
  }

  /** The last round the checkpoint finished (0 when starting afresh). */
  public int startRound() {
    return startRound;
  }

  /** The job's own state saved with the resumed checkpoint (stage, best round, ...), or null. */
  public JsonNode resumedState() {
    return resumedState;
  }

  /** Every round so far, resumed ones included. */
  public List<RoundMetrics> history() {
    return history;
  }

  public RoundMetrics last() {
    return history.get(history.size() - 1);
  }

  public Path workDir() {
    return new Path(output, WORK_DIR);
  }

  /**
   * Records each round (history, checkpoint, {@code metrics.jsonl} beside it) and prints its
   * progress line, and progress lines within long rounds.
   */
  public List<RoundListener> listeners(SparkSession spark, JobOptions options) {
    return listeners(spark, options, UnaryOperator.identity(), m -> null);
  }

  /**
   * As {@link #listeners(SparkSession, JobOptions)}, checkpointing {@code toSaved} of the trained
   * network (e.g. the whole network when the loop trains its top on cached features) with the
   * job's own {@code state}.
   */
  public List<RoundListener> listeners(SparkSession spark, JobOptions options, UnaryOperator<Model> toSaved,
      Function<RoundMetrics, JsonNode> state) {
    List<RoundListener> listeners = new ArrayList<>();
    listeners.add((m, network) -> {
      history.add(m);
      checkpoints.save(m.round(), seed, config, history, toSaved.apply(network), state.apply(m));
      MetricsLog.write(storage, checkpoints.dir(), history);
    });
    // within-round progress first: it erases its status line before the round's line is printed
    listeners.add(new RoundProgress(spark.sparkContext(), log, PROGRESS_INTERVAL_MILLIS));
    listeners.add(new ProgressReporter(log));
    listeners.addAll(options.listeners());
    return listeners;
  }

  /** A provenance record for this run: job, config, seed and the round it resumed from. */
  public Provenance provenance() {
    Provenance provenance = new Provenance(job).config(config).seed(seed);
    provenance.put("resumedFromRound", startRound);
    return provenance;
  }

  /** The metrics every training job reports: the summed round times and the rounds run, after the job's own. */
  public Map<String, Object> summary(Map<String, Object> metrics) {
    Map<String, Object> out = new LinkedHashMap<>(metrics);
    out.putIfAbsent("rounds", history.isEmpty() ? 0 : last().round());
    out.putIfAbsent("wall_s", history.stream().mapToDouble(RoundMetrics::wallSeconds).sum());
    return out;
  }

  /**
   * Publishes a finished run: each model file (name relative to the output, the network, whether
   * its updater state goes with it), then {@code metrics.jsonl} and {@code provenance.json}; then
   * removes the checkpoint and the work folder.
   */
  public void publish(Map<String, Saved> models, Provenance provenance) throws IOException {
    for (Map.Entry<String, Saved> e : models.entrySet()) {
      Saved s = e.getValue();
      storage.writeAtomically(new Path(output, e.getKey()), out -> ModelSerializer.writeModel(s.network(), out, s.withUpdater()));
    }
    MetricsLog.write(storage, output, history);
    provenance.write(storage, output);
    checkpoints.delete();
    if (storage.exists(workDir())) {
      storage.delete(workDir());
    }
  }

  /** A network to publish, with or without its updater state. */
  public record Saved(Model network, boolean withUpdater) {}
}

package io.graft.pipeline.runner;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.graft.config.ConfigException;
import io.graft.engine.Checkpoints;
import io.graft.jobs.ExitStatus;
import io.graft.jobs.Job;
import io.graft.jobs.JobMain;
import io.graft.pipeline.PipelineLock;
import io.graft.pipeline.PipelinePlan;
import io.graft.pipeline.PipelineSpec;
import io.graft.pipeline.StageType;
import io.graft.store.Storage;
import java.io.IOException;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;

/**
 * Runs a {@link PipelinePlan}: under the root's lock, each instance in order is skipped (its
 * folder holds a done marker with the same key), resumed (its folder holds a checkpoint from a run
 * that died) or run, through its stage type's {@link Job} (the contract {@code graft COMMAND} runs too).
 * An instance is done only when its job succeeded and its marker ({@value #MARKER}) is written atomically; a
 * failed instance blocks what reads it, and independent stages still run.
 */
public final class PipelineRunner {
  public static final String MARKER = "_GRAFT_STAGE.json";
  static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /** What a run does with an instance. */
  public enum Action {
    SKIP, RESUME, RUN;

    @Override
    public String toString() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** An instance with what the next run would do with it and why. */
  public record Decision(PipelinePlan.Instance instance, Action action, String reason, JsonNode marker) {}

  /**
   * How a run goes.
   *
   * @param runId names the run in the lock, the markers and the summary
   * @param staleAfter a lock without a heartbeat this long is taken over
   * @param spark the session, asked for once, before the first stage that needs Spark
   */
  public record Options(String runId, Duration staleAfter, Supplier<SparkSession> spark, Consumer<String> log) {
    public static Options defaults(Supplier<SparkSession> spark, Consumer<String> log) {
      return new Options(Instant.now().toString().replaceAll("[:.]", "-") + "-" + UUID.randomUUID().toString().substring(0, 8),
          Duration.ofMinutes(10), spark, log);
    }

    public Options withStaleAfter(Duration d) {
      return new Options(runId, d, spark, log);
    }
  }

  /** What a run did: its exit status and the summary written under the root. */
  public record Result(int exitCode, String status, ObjectNode summary, String summaryPath) {}

  private final PipelinePlan plan;
  private final Storage storage;
  private final Map<String, List<JsonNode>> finishedByStage = new HashMap<>();

  public PipelineRunner(PipelinePlan plan, Storage storage) {
    this.plan = plan;
    this.storage = storage;
  }

  /** Plans {@code spec}, checking the inputs each stage's job declares ({@link io.graft.config.Input}). */
  public static PipelinePlan plan(PipelineSpec spec, Storage storage) {
    return PipelinePlan.build(spec, storage, type -> StageJobs.job(type).inputKeys());
  }

  public PipelinePlan plan() {
    return plan;
  }

  public Storage storage() {
    return storage;
  }

  /** Binds every stage's settings to its job's config (a config stage's keys, an args stage's options), before anything runs. */
  public void validate() {
    for (PipelinePlan.Instance i : plan.instances()) {
      StageJobs.bind(i);
    }
  }

  /** What a run would do with each instance now (nothing is run or written). */
  public List<Decision> decide() throws IOException {
    List<Decision> out = new ArrayList<>();
    for (PipelinePlan.Instance i : plan.instances()) {
      out.add(decide(i));
    }
    return out;
  }

  Decision decide(PipelinePlan.Instance i) throws IOException {
    Path dir = storage.path(i.output());
    JsonNode marker = readMarker(dir);
    if (marker != null && i.key().equals(marker.path("key").asText())) {
      return new Decision(i, Action.SKIP, "done " + marker.path("finished").asText() + " (key " + i.shortKey() + ")", marker);
    }
    if (storage.exists(dir)) {
      Path state = new Path(new Path(dir, Checkpoints.DIR), "state.json");
      if (i.type().resumable() && storage.exists(state)) {
        int round = JSON.readTree(storage.readString(state)).path("round").asInt();
        return new Decision(i, Action.RESUME, "an interrupted run left a checkpoint after round " + round, null);
      }
      return new Decision(i, Action.RUN, "an interrupted run left a partial output (no checkpoint); starting over", null);
    }
    return new Decision(i, Action.RUN, whyChanged(i), null);
  }

  /** Compares with the newest finished output of the same instance under another key. */
  private String whyChanged(PipelinePlan.Instance i) throws IOException {
    JsonNode previous = null;
    for (JsonNode m : finishedMarkers(i.stage())) {
      if (m.path("instance").asText().equals(i.name())
          && (previous == null || m.path("finished").asText().compareTo(previous.path("finished").asText()) > 0)) {
        previous = m;
      }
    }
    if (previous == null) {
      return "never run";
    }
    Map<String, String> before = flatten(previous.path("keyMaterial"));
    Map<String, String> now = flatten(i.keyMaterial());
    List<String> inputs = new ArrayList<>();
    List<String> settings = new ArrayList<>();
    TreeMap<String, String> keys = new TreeMap<>(before);
    now.forEach(keys::putIfAbsent);
    for (String k : keys.keySet()) {
      String a = before.get(k);
      String b = now.get(k);
      if (Objects.equals(a, b)) {
        continue;
      }
      if ((a != null && a.contains("@")) || (b != null && b.contains("@"))) {
        String ref = (b != null ? b : a).replaceAll(".*\\$\\{([^@}]+)@.*", "$1");
        if (!inputs.contains(ref)) {
          inputs.add(ref);
        }
      } else if (k.startsWith("watch.")) {
        inputs.add(k.substring("watch.".length()) + " (files changed)");
      } else {
        settings.add(k.replaceFirst("^settings\\.", "") + ": " + (a == null ? "unset" : a) + " -> " + (b == null ? "unset" : b));
      }
    }
    List<String> why = new ArrayList<>();
    if (!settings.isEmpty()) {
      why.add("settings changed (" + String.join("; ", settings) + ")");
    }
    if (!inputs.isEmpty()) {
      why.add("input changed: " + String.join(", ", inputs));
    }
    return why.isEmpty() ? "key changed" : String.join("; ", why);
  }

  /** The done markers under {@code ROOT/STAGE/}, read once per stage (a sweep's instances share them). */
  private List<JsonNode> finishedMarkers(String stage) throws IOException {
    List<JsonNode> cached = finishedByStage.get(stage);
    if (cached == null) {
      cached = new ArrayList<>();
      Path stageDir = storage.path(plan.root() + "/" + stage);
      if (storage.exists(stageDir)) {
        for (FileStatus f : storage.fs(stageDir).listStatus(stageDir)) {
          JsonNode m = f.isDirectory() ? readMarker(f.getPath()) : null;
          if (m != null) {
            cached.add(m);
          }
        }
      }
      finishedByStage.put(stage, cached);
    }
    return cached;
  }

  private static Map<String, String> flatten(JsonNode node) {
    Map<String, String> out = new TreeMap<>();
    flatten(node, "", out);
    return out;
  }

  private static void flatten(JsonNode node, String prefix, Map<String, String> out) {
    if (node.isObject()) {
      node.fields().forEachRemaining(e -> flatten(e.getValue(), prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey(), out));
    } else if (node.isArray() && node.toString().contains("@")) {
      // lists of references (a report's runs) compare element by element, so the changed input is named
      for (int i = 0; i < node.size(); i++) {
        flatten(node.get(i), prefix + "[" + i + "]", out);
      }
    } else {
      out.put(prefix, node.isTextual() ? node.asText() : node.toString());
    }
  }

  /**
   * Runs the pipeline under its lock.
   *
   * @throws PipelineLock.HeldException when another live run holds the lock
   */
  public Result run(Options options) throws IOException {
    validate();
    Consumer<String> log = options.log();
    Instant started = Instant.now();
    Path lockFile = storage.path(plan.stateDir() + "/lock");
    ObjectNode summary = JSON.createObjectNode();
    summary.put("pipeline", plan.spec().name());
    summary.put("file", plan.spec().source());
    summary.put("root", plan.root());
    summary.put("runId", options.runId());
    summary.put("started", started.toString());
    ArrayNode stages = summary.putArray("stages");
    Map<String, String> outcomes = new HashMap<>();
    Supplier<SparkSession> spark = StageJobs.once(options.spark());
    try (PipelineLock lock = PipelineLock.acquire(storage, lockFile, options.runId(), options.staleAfter(), log)) {
      log.accept("pipeline " + plan.spec().name() + ": " + plan.instances().size() + " stage runs, root " + plan.root() + ", run " + options.runId());
      for (PipelinePlan.Instance i : plan.instances()) {
        ObjectNode row = stages.addObject();
        row.put("instance", i.name());
        row.put("stage", i.stage());
        row.put("type", i.type().command());
        row.put("key", i.key());
        row.put("output", i.output());
        List<String> blockedBy = i.upstream().stream().filter(u -> isFailed(outcomes.get(u))).toList();
        if (!blockedBy.isEmpty()) {
          row.put("action", "none");
          row.put("outcome", "blocked");
          row.put("reason", "input failed: " + String.join(", ", blockedBy));
          outcomes.put(i.name(), "blocked");
          log.accept("- " + i.name() + ": blocked (input failed: " + String.join(", ", blockedBy) + ")");
          continue;
        }
        Decision d = decide(i);
        row.put("action", d.action().toString());
        row.put("reason", d.reason());
        if (d.action() == Action.SKIP) {
          String outcome = d.marker().path("outcome").asText("done");
          row.put("outcome", outcome);
          row.put("seconds", d.marker().path("seconds").asDouble());
          row.set("metrics", d.marker().path("metrics"));
          outcomes.put(i.name(), outcome);
          log.accept("= " + i.name() + ": skip, " + d.reason());
          StageOutputs.publish(storage, plan, i, log);
          continue;
        }
        if (i.type().needsSpark()) {
          spark.get();
        }
        log.accept("> " + i.name() + ": " + d.action() + " (" + d.reason() + ")");
        Instant t0 = Instant.now();
        int code;
        String error = null;
        try {
          code = execute(i, d.action() == Action.RESUME, spark);
        } catch (Exception e) {
          code = JobMain.failure(e, new PrintWriter(System.err, true));
          ConfigException bad = JobMain.configException(e);
          error = bad != null ? bad.getMessage() : e.toString();
        }
        double seconds = Duration.between(t0, Instant.now()).toMillis() / 1000.0;
        row.put("seconds", seconds);
        row.put("exitCode", code);
        String outcome;
        if (code == ExitStatus.OK) {
          ObjectNode metrics = StageOutputs.metrics(storage, i);
          outcome = "negative".equals(metrics.path("verdict").asText()) ? "negative-transfer" : "done";
          writeMarker(i, options.runId(), t0, seconds, outcome, metrics, d.action() == Action.RESUME);
          row.set("metrics", metrics);
          StageOutputs.publish(storage, plan, i, log);
        } else {
          outcome = "failed";
          row.put("error", error != null ? error : i.type().command() + " ended with exit status " + code);
        }
        row.put("outcome", outcome);
        outcomes.put(i.name(), outcome);
        log.accept((code == 0 ? "+ " : "! ") + i.name() + ": " + outcome + " in " + String.format("%.1f", seconds) + " s");
      }
      int exit;
      String status;
      if (outcomes.values().stream().anyMatch(PipelineRunner::isFailed)) {
        exit = ExitStatus.FAILED;
        status = "failed";
      } else if (outcomes.containsValue("negative-transfer")) {
        exit = ExitStatus.NEGATIVE_TRANSFER;
        status = "negative-transfer";
      } else {
        exit = ExitStatus.OK;
        status = "ok";
      }
      Instant finished = Instant.now();
      summary.put("finished", finished.toString());
      summary.put("seconds", Duration.between(started, finished).toMillis() / 1000.0);
      summary.put("status", status);
      summary.put("exitCode", exit);
      String path = plan.stateDir() + "/runs/" + options.runId() + ".json";
      String text = JSON.writeValueAsString(summary);
      storage.writeString(storage.path(path), text);
      storage.writeString(storage.path(plan.stateDir() + "/runs/latest.json"), text);
      return new Result(exit, status, summary, path);
    }
  }

  private static boolean isFailed(String outcome) {
    return "failed".equals(outcome) || "blocked".equals(outcome);
  }

  /** Runs one instance through its job; returns the job's exit status. */
  private int execute(PipelinePlan.Instance i, boolean resume, Supplier<SparkSession> spark) throws Exception {
    Path dir = storage.path(i.output());
    if (!resume && storage.exists(dir) && i.type() != StageType.FETCH_DATA) {
      storage.delete(dir);
    }
    return StageJobs.run(StageJobs.job(i.type()), StageJobs.bind(i), resume, spark, storage);
  }

  private void writeMarker(PipelinePlan.Instance i, String runId, Instant started, double seconds, String outcome, ObjectNode metrics,
      boolean resumed) throws IOException {
    ObjectNode m = JSON.createObjectNode();
    m.put("pipeline", plan.spec().name());
    m.put("stage", i.stage());
    m.put("instance", i.name());
    m.put("type", i.type().command());
    m.put("key", i.key());
    m.put("runId", runId);
    m.put("started", started.toString());
    m.put("finished", Instant.now().toString());
    m.put("seconds", seconds);
    m.put("resumed", resumed);
    m.put("outcome", outcome);
    m.set("metrics", metrics);
    m.set("keyMaterial", i.keyMaterial());
    ArrayNode up = m.putArray("upstream");
    i.upstream().forEach(up::add);
    storage.writeString(new Path(storage.path(i.output()), MARKER), JSON.writeValueAsString(m));
  }

  JsonNode readMarker(Path dir) throws IOException {
    return StageOutputs.readMarker(storage, dir);
  }

  /** Reads the summary of the latest run, if any. */
  public JsonNode latestRun() throws IOException {
    Path p = storage.path(plan.stateDir() + "/runs/latest.json");
    return storage.exists(p) ? JSON.readTree(storage.readString(p)) : null;
  }
}

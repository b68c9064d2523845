package io.graft.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import io.graft.config.ConfigLoader;
import io.graft.config.Input;
import io.graft.engine.ConsoleLog;
import io.graft.pipeline.InputKeys;
import io.graft.store.Storage;
import java.io.IOException;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Supplier;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;

/**
 * One Graft job, as the command line, a pipeline stage and {@code spark-submit} all run it: its
 * config (from YAML or from its command options), a check of that config against where it will
 * run, made before any Spark work, and its body. A job that plans (reads manifests, loads and cuts
 * a source model) plans once, in its check, and its body runs that plan.
 *
 * @param <C> the config type
 */
public final class Job<C> {
  /** Checks a config against where it will run; throws {@link io.graft.config.ConfigException} naming what is wrong. */
  @FunctionalInterface
  public interface Check<C> {
    void check(C config, JobEnv env, boolean resume) throws IOException;
  }

  /** Runs a checked config. */
  @FunctionalInterface
  public interface Body<C> {
    JobResult run(C config, JobContext context) throws Exception;
  }

  /** Checks a config against where it will run and plans the run; throws naming what is wrong. */
  @FunctionalInterface
  public interface Planner<C, P> {
    P plan(C config, JobEnv env, boolean resume) throws IOException;
  }

  /** Runs a plan. */
  @FunctionalInterface
  public interface Runner<C, P> {
    JobResult run(C config, P plan, JobContext context) throws Exception;
  }

  /** A checked config, ready to run. */
  @FunctionalInterface
  public interface Checked {
    JobResult run(JobContext context) throws Exception;
  }

  /** The check and the body, with the plan that passes between them. */
  @FunctionalInterface
  private interface Steps<C> {
    Checked check(C config, JobEnv env, boolean resume) throws IOException;
  }

  private final String name;
  private final Class<C> configType;
  private final Supplier<? extends JobArgs<C>> args;
  private final boolean needsSpark;
  private final Steps<C> steps;

  private Job(String name, Class<C> configType, Supplier<? extends JobArgs<C>> args, boolean needsSpark, Steps<C> steps) {
    this.name = name;
    this.configType = configType;
    this.args = args;
    this.needsSpark = needsSpark;
    this.steps = steps;
  }

  private static <C> Steps<C> steps(Check<C> check, Body<C> body) {
    return (config, env, resume) -> {
      check.check(config, env, resume);
      return context -> body.run(config, context);
    };
  }

  /** A job configured by YAML ({@code --config FILE --set KEY=VALUE --resume}; a stage's {@code config}). */
  public static <C> Job<C> configured(String name, Class<C> type, Check<C> check, Body<C> body) {
    return new Job<>(name, Objects.requireNonNull(type), () -> new ConfigArgs<>(type), true, steps(check, body));
  }

  /** A YAML-configured job that plans in its check and runs that plan. */
  public static <C, P> Job<C> planned(String name, Class<C> type, Planner<C, P> planner, Runner<C, P> runner) {
    Steps<C> steps = (config, env, resume) -> {
      P plan = planner.plan(config, env, resume);
      return context -> runner.run(config, plan, context);
    };
    return new Job<>(name, Objects.requireNonNull(type), () -> new ConfigArgs<>(type), true, steps);
  }

  /** A job configured by command options ({@code graft NAME --option ...}; a stage's {@code args}). */
  public static <C> Job<C> withArgs(String name, Supplier<? extends JobArgs<C>> args, Check<C> check, Body<C> body) {
    return new Job<>(name, null, args, true, steps(check, body));
  }

  /** This job, run without a Spark session (and without Spark options). */
  public Job<C> withoutSpark() {
    return new Job<>(name, configType, args, false, steps);
  }

  /** The command, stage type and {@code spark-submit} main name. */
  public String name() {
    return name;
  }

  /** The Spark application name. */
  public String appName() {
    return "graft " + name;
  }

  public boolean needsSpark() {
    return needsSpark;
  }

  /** Whether the job reads a YAML config (else its command options). */
  public boolean configured() {
    return configType != null;
  }

  /** A fresh options object to parse this job's command line into. */
  public JobArgs<C> newArgs() {
    return args.get();
  }

  /**
   * A pipeline stage's settings as this job's config: a config job binds them as its YAML keys; an
   * options job reads each key as its option without {@code --} ({@code positional}: the
   * positional parameters).
   *
   * @param where names the settings in errors, e.g. {@code stage 'pretrain' config}
   * @throws io.graft.config.ConfigException naming the unknown key
   * @throws CommandLine.ParameterException naming the unknown or missing option
   */
  public C bind(JsonNode settings, String where) {
    if (configured()) {
      return ConfigLoader.bind(settings, configType, where);
    }
    JobArgs<C> parsed = newArgs();
    new CommandLine(parsed).parseArgs(options(settings).toArray(String[]::new));
    return parsed.config();
  }

  /** The command options a stage's {@code args} stand for (booleans are flags, lists repeat the option). */
  static List<String> options(JsonNode settings) {
    List<String> argv = new ArrayList<>();
    List<String> positional = new ArrayList<>();
    Iterator<Map.Entry<String, JsonNode>> it = settings.fields();
    while (it.hasNext()) {
      Map.Entry<String, JsonNode> e = it.next();
      JsonNode v = e.getValue();
      if (e.getKey().equals("positional")) {
        if (v.isArray()) {
          v.forEach(x -> positional.add(x.asText()));
        } else {
          positional.add(v.asText());
        }
      } else if (v.isBoolean()) {
        if (v.asBoolean()) {
          argv.add("--" + e.getKey());
        }
      } else if (v.isArray()) {
        for (JsonNode x : v) {
          argv.add("--" + e.getKey());
          argv.add(x.asText());
        }
      } else if (!v.isNull()) {
        argv.add("--" + e.getKey());
        argv.add(v.asText());
      }
    }
    argv.addAll(positional);
    return argv;
  }

  /**
   * The settings that name existing inputs ({@link Input} on the config's components or the
   * options' fields), as a pipeline stage's settings spell them: config keys ({@code data.train},
   * {@code tasks[].train}), option names without {@code --}, {@code positional}.
   */
  public InputKeys inputKeys() {
    if (configured()) {
      return InputKeys.ofConfig(configType);
    }
    Set<String> paths = new LinkedHashSet<>();
    Set<String> watched = new LinkedHashSet<>();
    for (Class<?> c = args.get().getClass(); c != null; c = c.getSuperclass()) {
      for (Field f : c.getDeclaredFields()) {
        Input input = f.getAnnotation(Input.class);
        if (input == null) {
          continue;
        }
        CommandLine.Option option = f.getAnnotation(CommandLine.Option.class);
        String key = option == null ? "positional" : longest(option.names()).replaceFirst("^-+", "");
        paths.add(key);
        if (input.watch()) {
          watched.add(key);
        }
      }
    }
    return new InputKeys(paths, watched);
  }

  private static String longest(String[] names) {
    return Arrays.stream(names).max(Comparator.comparingInt(String::length)).orElseThrow();
  }

  /** Checks (and plans) the config against where it will run, before any Spark work. */
  public Checked check(C config, JobEnv env, boolean resume) throws IOException {
    return steps.check(config, env, resume);
  }

  /**
   * What {@code graft NAME} and the job's {@code main} do: read the config from the parsed options,
   * check it, run it on the session the Spark options describe, print the result's lines.
   *
   * @return the exit status
   */
  public int launch(JobArgs<C> parsed, SparkOptions spark) throws Exception {
    C config = parsed.config();
    JobEnv env = needsSpark ? spark.env(appName()) : new JobEnv(null, new Storage(new Configuration()));
    Checked checked = check(config, env, parsed.resume());
    long started = System.nanoTime();
    long[] sessionNanos = {0};
    JobResult result = checked.run(new JobContext(env, () -> {
      long t0 = System.nanoTime();
      SparkSession session = spark.session(appName());
      sessionNanos[0] += System.nanoTime() - t0;
      return session;
    }, parsed.resume(), ConsoleLog.stdout(name)));
    result.lines().forEach(System.out::println);
    // for benchmarks: the job's own time, without the JVM's start and the Spark session's (on standard error)
    System.err.printf(Locale.ROOT, "[%s] job_s=%.2f spark_session_s=%.2f%n", name, (System.nanoTime() - started - sessionNanos[0]) / 1e9,
        sessionNanos[0] / 1e9);
    return result.exitStatus();
  }
}

package io.graft.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/** How a training job is driven: resume or start afresh, extra round listeners (tests, pipelines), where its log lines go. */
public record JobOptions(boolean resume, List<RoundListener> listeners, Consumer<String> log) {
  public static JobOptions defaults() {
    return new JobOptions(false, List.of(), System.out::println);
  }

  public static JobOptions quiet() {
    return new JobOptions(false, List.of(), s -> {});
  }

  public JobOptions withResume(boolean r) {
    return new JobOptions(r, listeners, log);
  }

  public JobOptions withListener(RoundListener l) {
    List<RoundListener> all = new ArrayList<>(listeners);
    all.add(l);
    return new JobOptions(resume, all, log);
  }
}

package io.graft.pipeline;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The order a pipeline's stages run in, from the references between them. */
final class StageGraph {
  private StageGraph() {}

  /** The stages in an order where each comes after what it reads; a cycle is refused, naming it. */
  static List<String> order(PipelineSpec spec, Map<String, Set<String>> deps) {
    List<String> order = new ArrayList<>();
    Set<String> done = new LinkedHashSet<>();
    while (order.size() < spec.stages().size()) {
      boolean progressed = false;
      for (PipelineSpec.StageSpec s : spec.stages()) {
        if (!done.contains(s.name()) && done.containsAll(deps.get(s.name()))) {
          order.add(s.name());
          done.add(s.name());
          progressed = true;
          break;
        }
      }
      if (!progressed) {
        throw new PipelineException("Pipeline " + spec.source() + ": stages form a cycle: " + String.join(" -> ", findCycle(deps, done)));
      }
    }
    return order;
  }

  private static List<String> findCycle(Map<String, Set<String>> deps, Set<String> done) {
    for (String start : deps.keySet()) {
      if (done.contains(start)) {
        continue;
      }
      Deque<String> path = new ArrayDeque<>();
      List<String> cycle = walk(start, deps, done, path, new LinkedHashSet<>());
      if (cycle != null) {
        return cycle;
      }
    }
    return List.of("?");
  }

  private static List<String> walk(String node, Map<String, Set<String>> deps, Set<String> done, Deque<String> path, Set<String> seen) {
    if (path.contains(node)) {
      List<String> p = new ArrayList<>(path);
      List<String> cycle = new ArrayList<>(p.subList(p.indexOf(node), p.size()));
      cycle.add(node);
      return cycle;
    }
    if (!seen.add(node) || done.contains(node)) {
      return null;
    }
    path.addLast(node);
    for (String d : deps.get(node)) {
      List<String> c = walk(d, deps, done, path, seen);
      if (c != null) {
        // a dependency edge points from reader to input; print it in data-flow order
        Collections.reverse(c);
        return c;
      }
    }
    path.removeLast();
    return null;
  }
}

package io.graft.diagnostics;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The report's training runs: one panel per job and dataset (never two tasks on one axis) with the
 * comparison of its variants (mean +- std over seeds; where runs were made at several label
 * budgets, each variant's learning curve across budgets with its spread), then loss and held-out
 * accuracy per round; then a table of every run.
 */
final class ReportRuns {
  /** More runs than this in one panel get one legend entry per group instead of one per run. */
  private static final int RUNS_IN_LEGEND = 8;
  private static final List<String> JOB_ORDER = List.of("finetune", "dann", "multitask", "pretrain");

  private ReportRuns() {}

  static void section(StringBuilder h, List<ReportInputs.Run> runs, ReportJob.Charts charts) {
    h.append("<h2>Runs</h2>\n");
    // the transfer comparisons first, the source's pre-training last; inputs' order within a job
    Map<String, List<ReportInputs.Run>> panels = new LinkedHashMap<>();
    runs.stream().sorted(Comparator.comparingInt(r -> JOB_ORDER.indexOf(r.job()) < 0 ? JOB_ORDER.size() : JOB_ORDER.indexOf(r.job())))
        .forEach(r -> panels.computeIfAbsent(r.panel(), k -> new ArrayList<>()).add(r));
    panels.forEach((panel, members) -> panel(h, panel, members, charts));
    table(h, runs);
  }

  private static void table(StringBuilder h, List<ReportInputs.Run> runs) {
    h.append("<h3>Every run</h3>\n<div class=\"scroll\"><table><tr><th>run</th><th>folder</th><th>metric</th><th>value</th><th>rounds</th>")
        .append("<th>wall s</th><th>verdict</th></tr>\n");
    for (ReportInputs.Run run : runs) {
      Double v = run.headline();
      JsonNode verdict = run.provenance().path("verdict");
      h.append("<tr><td>").append(ReportJob.esc(run.label())).append("</td><td>").append(ReportJob.esc(run.name()))
          .append("</td><td>").append(ReportJob.esc(run.metric())).append("</td><td>").append(v == null ? "-" : String.format("%.4f", v))
          .append("</td><td>").append(run.rounds().size()).append("</td><td>")
          .append(String.format("%.0f", run.provenance().path("metrics").path("wall_s").asDouble())).append("</td><td>")
          .append(verdict.isMissingNode() ? "-" : ReportJob.outcome(verdict.path("outcome").asText())).append("</td></tr>\n");
    }
    h.append("</table></div>\n");
  }

  private static void panel(StringBuilder h, String panel, List<ReportInputs.Run> runs, ReportJob.Charts charts) {
    h.append("<h3>").append(ReportJob.esc(panel)).append("</h3>\n");
    comparison(h, panel, runs, charts);
    perRound(h, panel, runs, charts);
  }

  /** The panel's variants side by side: a table, and a learning curve across label budgets or bars at one budget. */
  private static void comparison(StringBuilder h, String panel, List<ReportInputs.Run> runs, ReportJob.Charts charts) {
    // variant -> budget -> headline values, in the order runs were given
    Map<String, Map<Integer, List<Double>>> values = new LinkedHashMap<>();
    TreeSet<Integer> budgets = new TreeSet<>(Comparator.comparingInt(b -> b == 0 ? Integer.MAX_VALUE : b));
    String metric = null;
    for (ReportInputs.Run run : runs) {
      if (run.headline() != null) {
        metric = run.metric();
        budgets.add(run.budget());
        values.computeIfAbsent(run.variant(), k -> new LinkedHashMap<>()).computeIfAbsent(run.budget(), k -> new ArrayList<>())
            .add(run.headline());
      }
    }
    if (values.isEmpty()) {
      return;
    }
    h.append("<div class=\"scroll\"><table><tr><th>").append(budgets.size() > 1 || budgets.first() > 0 ? "variant, labels per class" : "variant")
        .append("</th><th>runs</th><th>mean ").append(ReportJob.esc(metric)).append("</th><th>std</th></tr>\n");
    values.forEach((variant, byBudget) -> byBudget.forEach((budget, v) -> h.append(String.format("<tr><td>%s</td><td>%d</td><td>%.4f</td>"
        + "<td>%.4f</td></tr>%n", ReportJob.esc(variant + (budget > 0 ? ", " + budget : "")), v.size(), mean(v), std(v)))));
    h.append("</table></div>\n");
    boolean spread = values.values().stream().flatMap(m -> m.values().stream()).anyMatch(v -> v.size() > 1);
    if (budgets.size() > 1) {
      List<Integer> order = new ArrayList<>(budgets);
      List<String> names = order.stream().map(b -> b == 0 ? "all" : Integer.toString(b)).toList();
      SvgChart curve = SvgChart.categoryLines("Learning curves: " + panel, "labelled rows per class", metric, names);
      values.forEach((variant, byBudget) -> {
        List<Double> x = new ArrayList<>();
        List<Double> y = new ArrayList<>();
        List<Double> e = new ArrayList<>();
        for (int i = 0; i < order.size(); i++) {
          List<Double> v = byBudget.get(order.get(i));
          if (v != null) {
            x.add((double) i);
            y.add(mean(v));
            e.add(std(v));
          }
        }
        curve.add(variant, x, y, e);
      });
      charts.add(h, curve, "Learning curves on " + panel + ": " + metric + " against labelled rows per class, mean over seeds, the band "
          + "one standard deviation");
    } else if (values.size() > 1 || spread) {
      List<String> names = new ArrayList<>(values.keySet());
      List<Double> x = new ArrayList<>();
      List<Double> y = new ArrayList<>();
      List<Double> e = new ArrayList<>();
      for (int i = 0; i < names.size(); i++) {
        List<Double> v = values.get(names.get(i)).values().iterator().next();
        x.add((double) i);
        y.add(mean(v));
        e.add(std(v));
      }
      int budget = budgets.first();
      SvgChart bars = SvgChart.bars(metric + ": " + panel + (budget > 0 ? ", " + budget + " labels per class" : ""), "variant", metric, names)
          .add(metric, x, y, e);
      charts.add(h, bars, "Final " + metric + " per variant on " + panel + " (mean over seeds, error bars one standard deviation)");
    }
  }

  /** Loss and held-out accuracy per round, one line per run; with many runs, coloured and named by group. */
  private static void perRound(StringBuilder h, String panel, List<ReportInputs.Run> runs, ReportJob.Charts charts) {
    SvgChart loss = SvgChart.lines("Training loss per round: " + panel, "round", "train loss");
    String accKey = null;
    for (ReportInputs.Run run : runs) {
      if (!run.rounds().isEmpty() && accKey == null) {
        accKey = ReportInputs.accuracyKey(run.rounds().get(run.rounds().size() - 1));
      }
    }
    SvgChart acc = SvgChart.lines("Held-out " + (accKey == null ? "accuracy" : accKey) + " per round: " + panel, "round",
        accKey == null ? "accuracy" : accKey);
    boolean byGroup = runs.stream().filter(r -> !r.rounds().isEmpty()).count() > RUNS_IN_LEGEND;
    Map<String, String> colours = new LinkedHashMap<>();
    int drawn = 0;
    for (ReportInputs.Run run : runs) {
      if (run.rounds().isEmpty()) {
        continue;
      }
      String group = run.inPanel();
      boolean first = !colours.containsKey(group);
      String colour = colours.computeIfAbsent(group, g -> SvgChart.PALETTE[colours.size() % SvgChart.PALETTE.length]);
      String name = byGroup ? group : run.inPanelWithSeed();
      List<Double> x = new ArrayList<>();
      List<Double> l = new ArrayList<>();
      List<Double> xa = new ArrayList<>();
      List<Double> a = new ArrayList<>();
      for (JsonNode m : run.rounds()) {
        if (m.path("train_loss").isNumber()) {
          x.add(m.path("round").asDouble());
          l.add(m.path("train_loss").asDouble());
        }
        if (accKey != null && m.path(accKey).isNumber()) {
          xa.add(m.path("round").asDouble());
          a.add(m.path(accKey).asDouble());
        }
      }
      String c = byGroup ? colour : SvgChart.PALETTE[drawn++ % SvgChart.PALETTE.length];
      loss.add(name, x, l, null, c, !byGroup || first);
      acc.add(name, xa, a, null, c, !byGroup || first);
    }
    String lines = byGroup ? " (one line per run, coloured by group)" : " (one line per run)";
    if (!loss.isEmpty()) {
      charts.add(h, loss, "Training loss per round on " + panel + lines);
    }
    if (!acc.isEmpty()) {
      charts.add(h, acc, "Held-out " + accKey + " per round on " + panel + lines + ": validation rows for fine-tuning, the target's test "
          + "rows for DANN");
    }
  }

  static double mean(List<Double> v) {
    return v.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
  }

  static double std(List<Double> v) {
    double m = mean(v);
    return v.size() < 2 ? 0 : Math.sqrt(v.stream().mapToDouble(d -> (d - m) * (d - m)).sum() / (v.size() - 1));
  }
}

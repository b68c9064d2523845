package io.graft.diagnostics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.graft.config.ConfigException;
import io.graft.jobs.Job;
import io.graft.jobs.JobResult;
import io.graft.stats.Verdict;
import io.graft.store.Provenance;
import io.graft.store.Storage;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code graft report}: one self-contained HTML file from run folders and diagnostics JSON. It opens
 * with the verdicts in words, then the runs: per job and dataset, loss and accuracy per round, the
 * comparison of variants (mean +- std over seeds) and learning curves across label budgets; then
 * per-layer probe accuracy, A-distances with their intervals, evaluations (confusion matrix) and
 * each run's provenance. Charts are inline SVG ({@link SvgChart}), so the file opens offline and
 * can be mailed around. A small script measures the page once it is laid out and writes onto
 * {@code <body>} how many charts rendered, how many pairs of chart labels overlap or are clipped, and
 * whether the page is wider than the window (what the headless-Chromium check reads).
 */
public final class ReportJob {
  private static final ObjectMapper JSON = new ObjectMapper();

  private ReportJob() {}

  public record Request(List<String> inputs, String out, String title) {
    public Request {
      ConfigException.require(inputs != null && !inputs.isEmpty(), "graft report needs at least one run folder or JSON file");
      ConfigException.require(out != null && !out.isBlank(), "--out is required");
      title = title == null ? "Graft transfer report" : title;
    }
  }

  /** {@code graft report}: reads run folders and diagnostics files only, no Spark. */
  public static final Job<Request> JOB = Job.<Request>withArgs("report", ReportArgs::new, (request, env, resume) -> {},
      (request, context) -> run(request, context.env().storage())).withoutSpark();

  public record Result(String out, int runs, int charts) implements JobResult {
    @Override
    public List<String> lines() {
      return List.of(String.format("report=%s runs=%d charts=%d", out, runs, charts));
    }
  }

  public static Result run(Request r, Storage storage) throws IOException {
    ReportInputs in = ReportInputs.read(r.inputs(), storage);
    ConfigException.require(!in.runs().isEmpty() || !in.divergences().isEmpty() || !in.probes().isEmpty() || !in.verdicts().isEmpty()
        || !in.evaluations().isEmpty(), "Nothing to report in %s: no provenance.json and no diagnostics JSON", r.inputs());
    int[] charts = {0};
    String html = render(r.title(), in, charts);
    storage.writeString(storage.path(r.out()), html);
    return new Result(storage.qualify(storage.path(r.out())).toString(), in.runs().size(), charts[0]);
  }


  static String render(String title, ReportInputs in, int[] count) throws IOException {
    Charts charts = new Charts();
    StringBuilder h = new StringBuilder();
    h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
        .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>").append(esc(title)).append("</title>\n<style>")
        .append("body{font-family:system-ui,sans-serif;margin:2em auto;padding:0 1em;max-width:960px;color:#222}")
        .append("table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}")
        .append("th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}div.scroll{overflow-x:auto}")
        .append("svg.chart{display:block;width:100%;max-width:").append(SvgChart.WIDTH).append("px;height:auto;margin:1em 0}")
        .append("figure{margin:1em 0}figcaption{color:#555;font-size:90%}")
        .append(".positive{color:#176b2c;font-weight:bold}.negative{color:#b00020;font-weight:bold}.neutral{color:#666;font-weight:bold}")
        .append("pre{background:#f7f7f7;padding:8px;overflow:auto;font-size:12px}</style></head>\n<body>\n");
    h.append("<h1>").append(esc(title)).append("</h1>\n<p>Written by graft ").append(esc(Provenance.BuildInfo.version())).append(" at ")
        .append(Instant.now()).append(".</p>\n");
    if (!in.verdicts().isEmpty()) {
      verdictSection(h, in.verdicts());
    }
    if (!in.runs().isEmpty()) {
      ReportRuns.section(h, in.runs(), charts);
    }
    if (!in.probes().isEmpty()) {
      probeSection(h, in.probes(), charts);
    }
    if (!in.divergences().isEmpty()) {
      divergenceSection(h, in.divergences(), charts);
    }
    if (!in.evaluations().isEmpty()) {
      evaluationSection(h, in.evaluations(), charts);
    }
    if (!in.runs().isEmpty()) {
      h.append("<h2>Provenance</h2>\n");
      for (ReportInputs.Run run : in.runs()) {
        h.append("<details><summary>").append(esc(run.name())).append(" (").append(esc(run.path())).append(")</summary><pre>")
            .append(esc(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(run.provenance()))).append("</pre></details>\n");
      }
    }
    h.append("<script>\n").append(LayoutCheck.SCRIPT).append("</script>\n</body></html>\n");
    count[0] = charts.count;
    return h.toString();
  }

  /** Adds charts to the page as figures with a caption, and counts them. */
  static final class Charts {
    private int count;

    void add(StringBuilder h, SvgChart chart, String caption) {
      figure(h, chart.render(), caption);
    }

    void figure(StringBuilder h, String svg, String caption) {
      h.append("<figure>").append(svg).append("<figcaption>").append(esc(caption)).append("</figcaption></figure>\n");
      count++;
    }
  }

  private static void verdictSection(StringBuilder h, List<JsonNode> verdicts) {
    h.append("<h2>Did transfer help?</h2>\n<ul>\n");
    for (JsonNode n : verdicts) {
      JsonNode v = n.path("verdict");
      h.append("<li>").append(outcome(v.path("outcome").asText())).append(": <b>").append(esc(Verdict.inWords(n.path("label").asText(),
          v.path("outcome").asText(), v.path("difference").asDouble(), v.path("pValue").asDouble()))).append("</b>. ")
          .append(esc(v.path("reason").asText())).append("</li>\n");
    }
    h.append("</ul>\n<div class=\"scroll\"><table><tr><th>comparison</th><th>verdict</th><th>metric</th><th>transfer</th>")
        .append("<th>baseline</th><th>difference</th><th>p (Welch)</th><th>Hedges' g</th></tr>\n");
    for (JsonNode n : verdicts) {
      JsonNode v = n.path("verdict");
      h.append("<tr><td>").append(esc(n.path("label").asText())).append("</td><td>").append(outcome(v.path("outcome").asText()))
          .append("</td><td>").append(esc(v.path("metric").asText()))
          .append(String.format("</td><td>%.4f +- %.4f (n=%d)</td><td>%.4f +- %.4f (n=%d)</td><td>%+.4f</td><td>%.3g</td><td>%s</td></tr>%n",
              v.path("treatmentMean").asDouble(), v.path("treatmentStd").asDouble(), v.path("treatment").size(),
              v.path("baselineMean").asDouble(), v.path("baselineStd").asDouble(), v.path("baseline").size(), v.path("difference").asDouble(),
              v.path("pValue").asDouble(), v.path("hedgesG").isNumber() ? String.format("%.2f", v.path("hedgesG").asDouble()) : "n/a"));
    }
    h.append("</table></div>\n");
  }

  private static void probeSection(StringBuilder h, List<JsonNode> probes, Charts charts) {
    h.append("<h2>Layer-wise transferability (linear probes)</h2>\n");
    // one chart per target and layer list: probes of the same network on the same target share an axis
    Map<String, SvgChart> byTarget = new LinkedHashMap<>();
    for (JsonNode p : probes) {
      List<String> layers = new ArrayList<>();
      List<Double> x = new ArrayList<>();
      List<Double> acc = new ArrayList<>();
      p.path("layers").forEach(l -> {
        x.add((double) layers.size());
        layers.add(l.path("layer").asText());
        acc.add(l.path("accuracy").asDouble());
      });
      String target = ReportInputs.Run.datasetName(p.path("target").asText("?"));
      byTarget.computeIfAbsent(target + " " + layers, k -> SvgChart.categoryLines("Linear-probe accuracy per layer on " + target + " ("
          + p.path("labelsPerClass").asInt() + " labels per class)", "layer", "target test accuracy", layers))
          .add(ReportInputs.Run.datasetName(p.path("model").asText()), x, acc, null);
      JsonNode rec = p.path("recommendation");
      h.append("<p><b>").append(esc(p.path("model").asText())).append("</b> on ").append(esc(p.path("target").asText())).append(" (")
          .append(p.path("labelsPerClass").asInt()).append(" labels per class): <b>").append(esc(rec.path("strategy").asText()))
          .append("</b>, freeze through ").append(esc(rec.path("freezeThrough").asText("nothing"))).append(", alpha ")
          .append(rec.path("alpha").asDouble()).append("</p><ul>");
      rec.path("reasoning").forEach(line -> h.append("<li>").append(esc(line.asText())).append("</li>"));
      h.append("</ul>\n");
    }
    byTarget.values().forEach(c -> charts.add(h, c, "Probe accuracy per layer, one line per model ('input' is the raw-input floor)"));
  }

  private static void divergenceSection(StringBuilder h, List<JsonNode> divergences, Charts charts) {
    h.append("<h2>Domain divergence (proxy A-distance)</h2>\n<div class=\"scroll\"><table><tr><th>measurement</th><th>features</th>")
        .append("<th>d<sub>A</sub></th><th>95% interval</th><th>error</th><th>rows / domain</th></tr>\n");
    List<String> names = new ArrayList<>();
    List<Double> x = new ArrayList<>();
    List<Double> values = new ArrayList<>();
    List<Double> errors = new ArrayList<>();
    for (JsonNode d : divergences) {
      JsonNode r = d.path("result");
      String name = d.path("label").asText();
      x.add((double) names.size());
      names.add(name);
      double v = r.path("aDistance").asDouble();
      values.add(v);
      errors.add(Math.max(r.path("upper").asDouble() - v, v - r.path("lower").asDouble()));
      h.append(String.format("<tr><td>%s</td><td>%s</td><td>%.3f</td><td>[%.3f, %.3f]</td><td>%.4f</td><td>%d</td></tr>%n", esc(name),
          esc(d.path("features").asText()), v, r.path("lower").asDouble(), r.path("upper").asDouble(), r.path("error").asDouble(),
          r.path("rowsPerDomain").asLong()));
    }
    h.append("</table></div>\n");
    SvgChart c = SvgChart.bars("Proxy A-distance (0: same domain, 2: separable)", "measurement", "d_A", names).yRange(0, 2)
        .add("d_A", x, values, errors);
    charts.add(h, c, "A-distance per measurement, before and after adaptation where given (error bars: the wider side of the 95% interval)");
  }

  private static void evaluationSection(StringBuilder h, List<JsonNode> evaluations, Charts charts) {
    h.append("<h2>Evaluations</h2>\n");
    for (JsonNode e : evaluations) {
      h.append(String.format("<h3>%s on %s</h3><p>accuracy %.4f, macro F1 %.4f, %d rows</p>%n", esc(e.path("model").asText()),
          esc(e.path("data").asText()), e.path("accuracy").asDouble(), e.path("macroF1").asDouble(), e.path("rows").asLong()));
      h.append("<div class=\"scroll\"><table><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>\n");
      List<String> names = new ArrayList<>();
      e.path("classes").forEach(c -> {
        names.add(c.path("name").asText());
        h.append(String.format("<tr><td>%s</td><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%d</td></tr>%n", esc(c.path("name").asText()),
            c.path("precision").asDouble(), c.path("recall").asDouble(), c.path("f1").asDouble(), c.path("support").asLong()));
      });
      h.append("</table></div>\n");
      int k = names.size();
      if (k > 0 && k <= 50) {
        long[][] counts = new long[k][k];
        JsonNode m = e.path("confusion");
        for (int a = 0; a < k; a++) {
          for (int p = 0; p < k; p++) {
            counts[a][p] = m.path(a).path(p).asLong();
          }
        }
        charts.figure(h, ConfusionChart.render("Confusion matrix: " + ReportInputs.Run.datasetName(e.path("data").asText()), names, counts),
            "Confusion matrix (rows: actual class, columns: predicted class; shade: share of the row)");
      }
    }
  }

  static String outcome(String o) {
    return "<span class=\"" + esc(o) + "\">" + esc(o) + "</span>";
  }

  static String esc(String s) {
    if (s == null) {
      return "";
    }
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }
}

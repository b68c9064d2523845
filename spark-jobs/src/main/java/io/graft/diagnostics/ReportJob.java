package io.graft.diagnostics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.graft.config.ConfigException;
import io.graft.jobs.Job;
import io.graft.jobs.JobResult;
import io.graft.stats.Verdict;
import io.graft.store.Provenance;
import io.graft.store.Storage;
import java.awt.Color;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler;

/**
 * {@code graft report}: one self-contained HTML file from run folders and diagnostics JSON:
 * loss and accuracy per round per run, a strategy comparison (mean +- std of each group's
 * headline metric), per-layer probe accuracy, A-distances with their intervals, verdicts,
 * evaluations (confusion matrix) and each run's provenance. Charts are drawn by XChart and
 * embedded as PNG data URIs, so the file opens offline and can be mailed around. A small script
 * counts the charts the browser decoded into {@code data-charts-rendered} on {@code <body>}
 * (what the headless-Chromium check reads).
 */
public final class ReportJob {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int WIDTH = 820;
  private static final int HEIGHT = 420;
  private static final Color[] PALETTE = {new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c), new Color(0xd62728),
      new Color(0x9467bd), new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f), new Color(0xbcbd22), new Color(0x17becf)};

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


  static String render(String title, ReportInputs in, int[] charts) throws IOException {
    StringBuilder h = new StringBuilder();
    h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>").append(esc(title)).append("</title>\n<style>")
        .append("body{font-family:system-ui,sans-serif;margin:2em auto;max-width:960px;color:#222}")
        .append("table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}")
        .append("th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}img.chart{display:block;margin:1em 0;max-width:100%}")
        .append(".positive{color:#176b2c;font-weight:bold}.negative{color:#b00020;font-weight:bold}.neutral{color:#666;font-weight:bold}")
        .append("pre{background:#f7f7f7;padding:8px;overflow:auto;font-size:12px}</style></head>\n<body>\n");
    h.append("<h1>").append(esc(title)).append("</h1>\n<p>Written by graft ").append(esc(Provenance.BuildInfo.version())).append(" at ")
        .append(Instant.now()).append(".</p>\n");
    if (!in.runs().isEmpty()) {
      runsSection(h, in.runs(), charts);
    }
    if (!in.verdicts().isEmpty()) {
      verdictSection(h, in.verdicts());
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
    h.append("<script>window.addEventListener('load',function(){var n=0;document.querySelectorAll('img.chart').forEach(function(i){")
        .append("if(i.complete&&i.naturalWidth>0){n++;}});document.body.setAttribute('data-charts-rendered',String(n));});</script>\n")
        .append("</body></html>\n");
    return h.toString();
  }

  private static void runsSection(StringBuilder h, List<ReportInputs.Run> runs, int[] charts) throws IOException {
    h.append("<h2>Runs</h2>\n<table><tr><th>run</th><th>folder</th><th>metric</th><th>value</th><th>rounds</th><th>wall s</th>")
        .append("<th>verdict</th></tr>\n");
    for (ReportInputs.Run run : runs) {
      Double v = run.headline();
      JsonNode verdict = run.provenance().path("verdict");
      h.append("<tr><td>").append(esc(run.label())).append("</td><td>").append(esc(run.name()))
          .append("</td><td>").append(esc(run.metric())).append("</td><td>").append(v == null ? "-" : String.format("%.4f", v))
          .append("</td><td>").append(run.rounds().size()).append("</td><td>")
          .append(String.format("%.0f", run.provenance().path("metrics").path("wall_s").asDouble())).append("</td><td>")
          .append(verdict.isMissingNode() ? "-" : outcome(verdict.path("outcome").asText())).append("</td></tr>\n");
    }
    h.append("</table>\n");
    XYChart loss = new XYChartBuilder().width(WIDTH).height(HEIGHT).title("Training loss per round").xAxisTitle("round")
        .yAxisTitle("train loss").build();
    XYChart acc = new XYChartBuilder().width(WIDTH).height(HEIGHT).title("Held-out accuracy per round").xAxisTitle("round")
        .yAxisTitle("accuracy").build();
    for (XYChart c : List.of(loss, acc)) {
      c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS).setMarkerSize(5);
    }
    boolean anyLoss = false;
    boolean anyAcc = false;
    // Up to 8 runs each get a legend entry; more are coloured by group, with one legend entry per group.
    boolean byGroup = runs.stream().filter(r -> !r.rounds().isEmpty()).count() > 8;
    Map<String, Color> groupColors = new LinkedHashMap<>();
    Map<String, Integer> seen = new LinkedHashMap<>();
    for (ReportInputs.Run run : runs) {
      if (run.rounds().isEmpty()) {
        continue;
      }
      int dup = seen.merge(run.label(), 1, Integer::sum);
      String series = dup == 1 ? run.label() : run.label() + " (" + dup + ")";
      boolean firstOfGroup = !groupColors.containsKey(run.group());
      Color color = groupColors.computeIfAbsent(run.group(), g -> PALETTE[groupColors.size() % PALETTE.length]);
      List<Double> x = new ArrayList<>();
      List<Double> l = new ArrayList<>();
      List<Double> xa = new ArrayList<>();
      List<Double> a = new ArrayList<>();
      String key = ReportInputs.accuracyKey(run.rounds().get(run.rounds().size() - 1));
      for (JsonNode m : run.rounds()) {
        if (m.path("train_loss").isNumber()) {
          x.add(m.path("round").asDouble());
          l.add(m.path("train_loss").asDouble());
        }
        if (key != null && m.path(key).isNumber()) {
          xa.add(m.path("round").asDouble());
          a.add(m.path(key).asDouble());
        }
      }
      String lossName = byGroup && firstOfGroup ? run.group() : series;
      String accName = byGroup && firstOfGroup ? run.group() + " (" + key + ")" : series + " (" + key + ")";
      Color c = byGroup ? color : null;
      anyLoss |= addRunSeries(loss, lossName, x, l, c, firstOfGroup);
      anyAcc |= addRunSeries(acc, accName, xa, a, c, firstOfGroup);
    }
    String colours = byGroup ? " (one line per run, coloured by group)" : "";
    if (anyLoss) {
      chart(h, loss, "Training loss per round per run" + colours, charts);
    }
    if (anyAcc) {
      chart(h, acc, "Held-out accuracy per round per run (validation for fine-tuning, target test for DANN)" + colours, charts);
    }
    Map<String, List<Double>> groups = new LinkedHashMap<>();
    Set<String> metrics = new LinkedHashSet<>();
    Set<String> jobs = new LinkedHashSet<>();
    for (ReportInputs.Run run : runs) {
      if (run.headline() != null) {
        metrics.add(run.metric());
        jobs.add(run.job());
      }
    }
    // One job and one metric (a benchmark's runs): short bar labels, the metric on the axis.
    boolean uniform = metrics.size() == 1 && jobs.size() == 1;
    for (ReportInputs.Run run : runs) {
      if (run.headline() != null) {
        String name = uniform ? run.group().replaceFirst("^" + Pattern.quote(run.job()) + ": ", "")
            : run.group() + " [" + run.metric() + "]";
        groups.computeIfAbsent(name, k -> new ArrayList<>()).add(run.headline());
      }
    }
    if (!groups.isEmpty()) {
      List<String> names = new ArrayList<>(groups.keySet());
      List<Double> means = new ArrayList<>();
      List<Double> stds = new ArrayList<>();
      h.append("<h3>Strategy comparison</h3>\n<table><tr><th>group</th><th>runs</th><th>mean</th><th>std</th></tr>\n");
      for (String g : names) {
        double[] v = groups.get(g).stream().mapToDouble(Double::doubleValue).toArray();
        double mean = Arrays.stream(v).average().orElse(0);
        double std = v.length < 2 ? 0 : Math.sqrt(Arrays.stream(v).map(d -> (d - mean) * (d - mean)).sum() / (v.length - 1));
        means.add(mean);
        stds.add(std);
        h.append(String.format("<tr><td>%s</td><td>%d</td><td>%.4f</td><td>%.4f</td></tr>%n", esc(g), v.length, mean, std));
      }
      h.append("</table>\n");
      CategoryChart bars = new CategoryChartBuilder().width(WIDTH).height(HEIGHT).title("Final metric by group (mean +- std over runs)")
          .yAxisTitle(uniform ? metrics.iterator().next() : "final metric").build();
      bars.getStyler().setLegendVisible(false);
      bars.getStyler().setXAxisLabelRotation(names.size() > 4 ? 30 : 0);
      bars.getStyler().setErrorBarsColor(Color.BLACK);
      bars.addSeries("mean", names, means, stds);
      chart(h, bars, "Comparison with error bars (one standard deviation over seeds)", charts);
    }
  }

  /** Adds one run's line (nothing when it has no points); with a colour, only the group's first run is in the legend. */
  private static boolean addRunSeries(XYChart chart, String name, List<Double> x, List<Double> y, Color color, boolean inLegend) {
    if (x.isEmpty()) {
      return false;
    }
    XYSeries series = chart.addSeries(name, x, y);
    if (color != null) {
      series.setLineColor(color);
      series.setMarkerColor(color);
      series.setShowInLegend(inLegend);
    }
    return true;
  }

  private static void verdictSection(StringBuilder h, List<JsonNode> verdicts) {
    h.append("<h2>Negative-transfer verdicts</h2>\n<table><tr><th>comparison</th><th>verdict</th><th>metric</th><th>transfer</th>")
        .append("<th>baseline</th><th>difference</th><th>p (Welch)</th><th>Hedges' g</th></tr>\n");
    for (JsonNode n : verdicts) {
      JsonNode v = n.path("verdict");
      h.append("<tr><td>").append(esc(n.path("label").asText())).append("</td><td>").append(outcome(v.path("outcome").asText()))
          .append("</td><td>").append(esc(v.path("metric").asText()))
          .append(String.format("</td><td>%.4f +- %.4f (n=%d)</td><td>%.4f +- %.4f (n=%d)</td><td>%+.4f</td><td>%.3g</td><td>%s</td></tr>%n",
              v.path("treatmentMean").asDouble(), v.path("treatmentStd").asDouble(), v.path("treatment").size(),
              v.path("baselineMean").asDouble(), v.path("baselineStd").asDouble(), v.path("baseline").size(), v.path("difference").asDouble(),
              v.path("pValue").asDouble(), v.path("hedgesG").isNumber() ? String.format("%.2f", v.path("hedgesG").asDouble()) : "n/a"));
      h.append("<tr><td colspan=\"8\" style=\"text-align:left\"><b>").append(esc(Verdict.inWords(n.path("label").asText(),
          v.path("outcome").asText(), v.path("difference").asDouble(), v.path("pValue").asDouble()))).append("</b>. ")
          .append(esc(v.path("reason").asText())).append("</td></tr>\n");
    }
    h.append("</table>\n");
  }

  private static void probeSection(StringBuilder h, List<JsonNode> probes, int[] charts) throws IOException {
    h.append("<h2>Layer-wise transferability (linear probes)</h2>\n");
    CategoryChart c = new CategoryChartBuilder().width(WIDTH).height(HEIGHT).title("Linear-probe accuracy per layer").xAxisTitle("layer")
        .yAxisTitle("target test accuracy").build();
    c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
    c.getStyler().setXAxisLabelRotation(20);
    int i = 0;
    List<String> layerOrder = null;
    for (JsonNode p : probes) {
      List<String> layers = new ArrayList<>();
      List<Double> acc = new ArrayList<>();
      p.path("layers").forEach(l -> {
        layers.add(l.path("layer").asText());
        acc.add(l.path("accuracy").asDouble());
      });
      if (layerOrder == null || layerOrder.equals(layers)) {
        layerOrder = layers;
        c.addSeries(++i + ": " + p.path("model").asText(), layers, acc);
      }
      JsonNode rec = p.path("recommendation");
      h.append("<p><b>").append(esc(p.path("model").asText())).append("</b> on ").append(esc(p.path("target").asText())).append(" (")
          .append(p.path("labelsPerClass").asInt()).append(" labels per class): <b>").append(esc(rec.path("strategy").asText()))
          .append("</b>, freeze through ").append(esc(rec.path("freezeThrough").asText("nothing"))).append(", alpha ")
          .append(rec.path("alpha").asDouble()).append("</p><ul>");
      rec.path("reasoning").forEach(line -> h.append("<li>").append(esc(line.asText())).append("</li>"));
      h.append("</ul>\n");
    }
    chart(h, c, "Probe accuracy per layer ('input' is the raw-input floor)", charts);
  }

  private static void divergenceSection(StringBuilder h, List<JsonNode> divergences, int[] charts) throws IOException {
    h.append("<h2>Domain divergence (proxy A-distance)</h2>\n<table><tr><th>measurement</th><th>features</th><th>d<sub>A</sub></th>")
        .append("<th>95% interval</th><th>error</th><th>rows / domain</th></tr>\n");
    List<String> names = new ArrayList<>();
    List<Double> values = new ArrayList<>();
    List<Double> errors = new ArrayList<>();
    for (JsonNode d : divergences) {
      JsonNode r = d.path("result");
      String name = d.path("label").asText();
      names.add(name);
      double v = r.path("aDistance").asDouble();
      values.add(v);
      errors.add(Math.max(r.path("upper").asDouble() - v, v - r.path("lower").asDouble()));
      h.append(String.format("<tr><td>%s</td><td>%s</td><td>%.3f</td><td>[%.3f, %.3f]</td><td>%.4f</td><td>%d</td></tr>%n", esc(name),
          esc(d.path("features").asText()), v, r.path("lower").asDouble(), r.path("upper").asDouble(), r.path("error").asDouble(),
          r.path("rowsPerDomain").asLong()));
    }
    h.append("</table>\n");
    CategoryChart c = new CategoryChartBuilder().width(WIDTH).height(HEIGHT).title("Proxy A-distance (0: same domain, 2: separable)")
        .yAxisTitle("d_A").build();
    c.getStyler().setLegendVisible(false);
    c.getStyler().setXAxisLabelRotation(20);
    c.getStyler().setYAxisMin(0.0).setYAxisMax(2.0);
    c.getStyler().setErrorBarsColor(Color.BLACK);
    c.addSeries("d_A", names, values, errors);
    chart(h, c, "A-distance per measurement, before and after adaptation where given (error bars: the wider side of the 95% interval)",
        charts);
  }

  private static void evaluationSection(StringBuilder h, List<JsonNode> evaluations, int[] charts) throws IOException {
    h.append("<h2>Evaluations</h2>\n");
    for (JsonNode e : evaluations) {
      h.append(String.format("<h3>%s on %s</h3><p>accuracy %.4f, macro F1 %.4f, %d rows</p>%n", esc(e.path("model").asText()),
          esc(e.path("data").asText()), e.path("accuracy").asDouble(), e.path("macroF1").asDouble(), e.path("rows").asLong()));
      h.append("<table><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>\n");
      List<String> names = new ArrayList<>();
      e.path("classes").forEach(c -> {
        names.add(c.path("name").asText());
        h.append(String.format("<tr><td>%s</td><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%d</td></tr>%n", esc(c.path("name").asText()),
            c.path("precision").asDouble(), c.path("recall").asDouble(), c.path("f1").asDouble(), c.path("support").asLong()));
      });
      h.append("</table>\n");
      int k = names.size();
      if (k > 0 && k <= 50) {
        int[] idx = new int[k];
        for (int i = 0; i < k; i++) {
          idx[i] = i;
        }
        // Rows (y) actual, columns (x) predicted, as in the JSON; XChart's heat map takes [x][y].
        List<Number[]> cells = new ArrayList<>();
        JsonNode m = e.path("confusion");
        for (int a = 0; a < k; a++) {
          for (int p = 0; p < k; p++) {
            cells.add(new Number[] {p, a, m.path(a).path(p).asLong()});
          }
        }
        HeatMapChart hm = new HeatMapChartBuilder().width(WIDTH).height(WIDTH * 3 / 4).title("Confusion matrix")
            .xAxisTitle("predicted").yAxisTitle("actual").build();
        hm.getStyler().setShowValue(true).setLegendVisible(false);
        hm.addSeries("counts", names, names, cells);
        chart(h, hm, "Confusion matrix (rows: actual class, columns: predicted class)", charts);
      }
    }
  }

  private static void chart(StringBuilder h, Chart<?, ?> chart, String caption, int[] count) throws IOException {
    byte[] png = BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
    h.append("<figure><img class=\"chart\" alt=\"").append(esc(caption)).append("\" src=\"data:image/png;base64,")
        .append(Base64.getEncoder().encodeToString(png)).append("\"><figcaption>").append(esc(caption)).append("</figcaption></figure>\n");
    count[0]++;
  }

  private static String outcome(String o) {
    return "<span class=\"" + esc(o) + "\">" + esc(o) + "</span>";
  }

  static String esc(String s) {
    if (s == null) {
      return "";
    }
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }
}

package io.graft.diagnostics;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The report's charts as inline SVG: line charts over rounds or categories (with a spread band) and
 * bar charts with error bars ({@link ConfusionChart} draws the confusion matrix with the same parts). SVG keeps the report one offline file whose
 * text the browser lays out itself, so the headless-Chromium check can measure every label. Labels
 * are placed from a conservative estimate of their width: category labels turn 45 or 90 degrees,
 * and are thinned, before they could touch; the legend wraps into rows below the plot.
 */
final class SvgChart {
  static final int WIDTH = 800;
  static final double FONT = 12;
  /** A sans-serif glyph's advance is at most about 0.62 em on average (DejaVu Sans, the widest common default). */
  private static final double CHAR = 0.62 * FONT;
  private static final int MAX_LABEL = 34;
  static final String[] PALETTE = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
      "#17becf"};

  /** One series: x positions (category indexes on a category axis), values, and an optional spread (one standard deviation). */
  record Series(String name, List<Double> x, List<Double> y, List<Double> spread, String colour, boolean inLegend) {}

  private enum Kind { LINES, CATEGORY_LINES, BARS }

  private final Kind kind;
  private final String title;
  private final String xTitle;
  private final String yTitle;
  private final List<String> categories;
  private final List<Series> series = new ArrayList<>();
  private Double yMin;
  private Double yMax;

  private SvgChart(Kind kind, String title, String xTitle, String yTitle, List<String> categories) {
    this.kind = kind;
    this.title = title;
    this.xTitle = xTitle;
    this.yTitle = yTitle;
    this.categories = categories;
  }

  /** Lines over a numeric x axis (rounds). */
  static SvgChart lines(String title, String xTitle, String yTitle) {
    return new SvgChart(Kind.LINES, title, xTitle, yTitle, List.of());
  }

  /** Lines over evenly spaced categories (label budgets, layers); a series' x values are category indexes. */
  static SvgChart categoryLines(String title, String xTitle, String yTitle, List<String> categories) {
    return new SvgChart(Kind.CATEGORY_LINES, title, xTitle, yTitle, List.copyOf(categories));
  }

  /** Bars per category, side by side when there are several series; x values are category indexes. */
  static SvgChart bars(String title, String xTitle, String yTitle, List<String> categories) {
    return new SvgChart(Kind.BARS, title, xTitle, yTitle, List.copyOf(categories));
  }

  SvgChart yRange(double min, double max) {
    this.yMin = min;
    this.yMax = max;
    return this;
  }

  /** Adds a series in the next palette colour, shown in the legend. */
  SvgChart add(String name, List<Double> x, List<Double> y, List<Double> spread) {
    return add(name, x, y, spread, PALETTE[series.size() % PALETTE.length], true);
  }

  SvgChart add(String name, List<Double> x, List<Double> y, List<Double> spread, String colour, boolean inLegend) {
    if (!x.isEmpty()) {
      series.add(new Series(name, List.copyOf(x), List.copyOf(y), spread == null ? null : List.copyOf(spread), colour, inLegend));
    }
    return this;
  }

  boolean isEmpty() {
    return series.isEmpty();
  }

  String render() {
    boolean legend = series.stream().filter(Series::inLegend).count() > 1 || kind != Kind.BARS && !series.isEmpty();
    List<List<Series>> legendRows = legend ? legendRows() : List.of();
    double[] y = yBounds();
    List<Double> yTicks = niceTicks(y[0], y[1], 6, false);
    double yLabels = 28 + yTicks.stream().mapToDouble(v -> width(fmt(v, yTicks))).max().orElse(20) + 10;
    XLabels xl = kind == Kind.LINES ? null : XLabels.layout(categories, WIDTH - yLabels - 20, true);
    double room = yLabels;
    if (xl != null && xl.overhang() + 4 > yLabels) {
      // the first label, turned 45 degrees, reaches left past the y axis labels: make room for it, or stand the labels upright
      XLabels narrower = XLabels.layout(categories, WIDTH - (xl.overhang() + 4) - 20, true);
      double wider = narrower.overhang() + 6;
      XLabels turned = XLabels.layout(categories, WIDTH - wider - 20, true);
      if (narrower.angle() == 45 && turned.angle() == 45 && turned.overhang() + 4 <= wider) {
        room = wider;
        xl = turned;
      } else {
        xl = XLabels.layout(categories, WIDTH - yLabels - 20, false);
      }
    }
    double left = room;
    XLabels labels = xl;
    double plotW = WIDTH - left - 20;
    double top = 40;
    double plotH = 260;
    double bottom = top + plotH;
    double xAxisH = labels == null ? FONT + 10 : labels.height();
    double xTitleY = bottom + xAxisH + FONT + 8;
    double legendTop = xTitleY + 14;
    double height = legendTop + legendRows.size() * (FONT + 10) + 6;
    StringBuilder s = new StringBuilder();
    s.append(String.format(Locale.ROOT, "<svg class=\"chart\" viewBox=\"0 0 %d %.0f\" "
        + "role=\"img\" font-family=\"sans-serif\" font-size=\"%.0f\"><title>%s</title>%n", WIDTH, height, FONT, ReportJob.esc(title)));
    s.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%.0f\" fill=\"#fff\"/>%n", WIDTH, height));
    text(s, WIDTH / 2.0, 22, title, "middle", 0, "title", "font-size=\"14\" font-weight=\"bold\"");
    // y axis: grid lines and ticks
    for (double v : yTicks) {
      double py = bottom - (v - y[0]) / (y[1] - y[0]) * plotH;
      s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e5e5e5\"/>%n", left,
          left + plotW, py, py));
      text(s, left - 6, py + FONT * 0.35, fmt(v, yTicks), "end", 0, "tick", null);
    }
    text(s, 16, top + plotH / 2, yTitle, "middle", -90, "axis-title", null);
    text(s, left + plotW / 2, xTitleY, xTitle, "middle", 0, "axis-title", null);
    s.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#999\"/>%n",
        left, top, plotW, plotH));
    // x axis
    double[] x = xBounds();
    java.util.function.DoubleUnaryOperator sx = kind == Kind.LINES ? v -> left + (x[1] == x[0] ? 0.5 : (v - x[0]) / (x[1] - x[0])) * plotW
        : v -> left + (v + 0.5) * plotW / categories.size();
    java.util.function.DoubleUnaryOperator sy = v -> bottom - (Math.max(y[0], Math.min(y[1], v)) - y[0]) / (y[1] - y[0]) * plotH;
    if (kind == Kind.LINES) {
      List<Double> xTicks = niceTicks(x[0], x[1], 8, true);
      for (double v : xTicks) {
        text(s, sx.applyAsDouble(v), bottom + FONT + 6, fmt(v, xTicks), "middle", 0, "tick", null);
      }
    } else {
      labels.render(s, left, plotW, bottom);
    }
    if (kind == Kind.BARS) {
      bars(s, sx, sy, plotW / categories.size(), bottom);
    } else {
      lines(s, sx, sy);
    }
    double ly = legendTop;
    for (List<Series> row : legendRows) {
      double lx = left;
      for (Series se : row) {
        s.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"10\" fill=\"%s\"/>%n", lx, ly, se.colour()));
        text(s, lx + 18, ly + 9.5, se.name(), "start", 0, "legend", null);
        lx += legendWidth(se);
      }
      ly += FONT + 10;
    }
    return s.append("</svg>\n").toString();
  }

  private void lines(StringBuilder s, java.util.function.DoubleUnaryOperator sx, java.util.function.DoubleUnaryOperator sy) {
    for (Series se : series) {
      if (se.spread() != null) {
        StringBuilder band = new StringBuilder();
        for (int i = 0; i < se.x().size(); i++) {
          band.append(pt(sx.applyAsDouble(se.x().get(i)), sy.applyAsDouble(se.y().get(i) + se.spread().get(i))));
        }
        for (int i = se.x().size() - 1; i >= 0; i--) {
          band.append(pt(sx.applyAsDouble(se.x().get(i)), sy.applyAsDouble(se.y().get(i) - se.spread().get(i))));
        }
        s.append("<polygon class=\"mark\" points=\"").append(band).append("\" fill=\"").append(se.colour())
            .append("\" fill-opacity=\"0.15\" stroke=\"none\"/>\n");
      }
      StringBuilder points = new StringBuilder();
      for (int i = 0; i < se.x().size(); i++) {
        points.append(pt(sx.applyAsDouble(se.x().get(i)), sy.applyAsDouble(se.y().get(i))));
      }
      s.append("<polyline class=\"mark\" points=\"").append(points).append("\" fill=\"none\" stroke=\"").append(se.colour())
          .append("\" stroke-width=\"1.8\"><title>").append(ReportJob.esc(se.name())).append("</title></polyline>\n");
      if (se.x().size() <= 40) {
        for (int i = 0; i < se.x().size(); i++) {
          s.append(String.format(Locale.ROOT, "<circle class=\"mark\" cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>%n",
              sx.applyAsDouble(se.x().get(i)), sy.applyAsDouble(se.y().get(i)), se.colour()));
        }
      }
    }
  }

  private void bars(StringBuilder s, java.util.function.DoubleUnaryOperator sx, java.util.function.DoubleUnaryOperator sy, double slot,
      double bottom) {
    double barW = Math.min(60, slot * 0.8 / series.size());
    for (int k = 0; k < series.size(); k++) {
      Series se = series.get(k);
      for (int i = 0; i < se.x().size(); i++) {
        double cx = sx.applyAsDouble(se.x().get(i)) + (k - (series.size() - 1) / 2.0) * barW;
        double top = sy.applyAsDouble(se.y().get(i));
        s.append(String.format(Locale.ROOT, "<rect class=\"mark\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">"
            + "<title>%s: %s</title></rect>%n", cx - barW / 2 + 1, top, barW - 2, Math.max(0.5, bottom - top), se.colour(),
            ReportJob.esc(categories.get(se.x().get(i).intValue())), fmt4(se.y().get(i))));
        if (se.spread() != null && se.spread().get(i) > 0) {
          double hi = sy.applyAsDouble(se.y().get(i) + se.spread().get(i));
          double lo = sy.applyAsDouble(se.y().get(i) - se.spread().get(i));
          s.append(String.format(Locale.ROOT, "<path d=\"M%.1f %.1fV%.1fM%.1f %.1fH%.1fM%.1f %.1fH%.1f\" stroke=\"#000\"/>%n", cx, hi, lo,
              cx - 5, hi, cx + 5, cx - 5, lo, cx + 5));
        }
      }
    }
  }

  /** How category labels sit under an axis: level, or turned 45 or 90 degrees, every {@code step}-th shown. */
  record XLabels(List<String> labels, double slot, int angle, int step, double longest) {
    static XLabels layout(List<String> categories, double axisWidth) {
      return layout(categories, axisWidth, true);
    }

    static XLabels layout(List<String> categories, double axisWidth, boolean turn45) {
      double slot = axisWidth / Math.max(1, categories.size());
      double level = categories.stream().mapToDouble(SvgChart::width).max().orElse(0);
      if (level + 8 <= slot) {
        return new XLabels(categories, slot, 0, 1, level);
      }
      List<String> shortened = categories.stream().map(SvgChart::shorten).toList();
      double longest = shortened.stream().mapToDouble(SvgChart::width).max().orElse(0);
      // adjacent labels turned by an angle a are slot * sin(a) apart, and need a line height (1.4 em) between them
      if (turn45 && slot * Math.sin(Math.PI / 4) >= 1.4 * FONT) {
        return new XLabels(shortened, slot, 45, 1, longest);
      }
      return new XLabels(shortened, slot, 90, (int) Math.ceil(1.4 * FONT / slot), longest);
    }

    /** How far left of the axis the first label reaches. */
    double overhang() {
      return angle == 45 ? Math.max(0, longest * Math.cos(Math.PI / 4) - slot / 2) : 0;
    }

    double height() {
      return switch (angle) {
        case 0 -> FONT + 10;
        case 45 -> longest * Math.sin(Math.PI / 4) + FONT + 10;
        default -> longest + 12;
      };
    }

    void render(StringBuilder s, double left, double axisWidth, double axisY) {
      for (int i = 0; i < labels.size(); i += step) {
        double cx = left + (i + 0.5) * slot;
        if (angle == 0) {
          text(s, cx, axisY + FONT + 6, labels.get(i), "middle", 0, "tick", null);
        } else {
          double ty = axisY + 8;
          double tx = cx + (angle == 90 ? FONT * 0.35 : FONT * 0.25);
          text(s, tx, ty, labels.get(i), "end", -angle, "tick", null);
        }
      }
    }
  }

  private List<List<Series>> legendRows() {
    List<List<Series>> rows = new ArrayList<>();
    double room = WIDTH - 80;
    double used = room;
    for (Series se : series) {
      if (!se.inLegend()) {
        continue;
      }
      double w = legendWidth(se);
      if (used + w > room) {
        rows.add(new ArrayList<>());
        used = 0;
      }
      rows.get(rows.size() - 1).add(se);
      used += w;
    }
    return rows;
  }

  private static double legendWidth(Series se) {
    return 18 + width(se.name()) + 16;
  }

  private double[] yBounds() {
    if (yMin != null) {
      return new double[] {yMin, yMax};
    }
    double lo = Double.POSITIVE_INFINITY;
    double hi = Double.NEGATIVE_INFINITY;
    for (Series se : series) {
      for (int i = 0; i < se.y().size(); i++) {
        double e = se.spread() == null ? 0 : se.spread().get(i);
        lo = Math.min(lo, se.y().get(i) - e);
        hi = Math.max(hi, se.y().get(i) + e);
      }
    }
    if (kind == Kind.BARS) {
      lo = Math.min(0, lo);
    }
    if (!(lo < hi)) {
      lo = Double.isFinite(lo) ? lo - 0.5 : 0;
      hi = lo + 1;
    }
    double pad = (hi - lo) * 0.05;
    List<Double> t = niceTicks(kind == Kind.BARS && lo == 0 ? 0 : lo - pad, hi + pad, 6, false);
    return new double[] {Math.min(t.get(0), lo), Math.max(t.get(t.size() - 1), hi)};
  }

  private double[] xBounds() {
    double lo = Double.POSITIVE_INFINITY;
    double hi = Double.NEGATIVE_INFINITY;
    for (Series se : series) {
      for (double v : se.x()) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    }
    return Double.isFinite(lo) ? new double[] {lo, hi} : new double[] {0, 1};
  }

  /** Ticks at 1, 2 or 5 times a power of ten, covering [lo, hi]; whole numbers only for an integer axis. */
  static List<Double> niceTicks(double lo, double hi, int target, boolean integers) {
    double range = hi - lo <= 0 ? 1 : hi - lo;
    double raw = range / Math.max(1, target - 1);
    double mag = Math.pow(10, Math.floor(Math.log10(raw)));
    double step = raw / mag < 1.5 ? mag : raw / mag < 3 ? 2 * mag : raw / mag < 7 ? 5 * mag : 10 * mag;
    if (integers) {
      step = Math.max(1, Math.round(step));
    }
    List<Double> ticks = new ArrayList<>();
    for (long k = (long) Math.ceil(lo / step - 1e-9); k <= (long) Math.floor(hi / step + 1e-9); k++) {
      ticks.add(Double.parseDouble(String.format(Locale.ROOT, "%.10g", k * step)) + 0.0);
    }
    if (ticks.isEmpty()) {
      ticks.add(lo);
    }
    return ticks;
  }

  private static String fmt(double v, List<Double> ticks) {
    double step = ticks.size() > 1 ? ticks.get(1) - ticks.get(0) : 1;
    int decimals = step >= 1 ? 0 : (int) Math.ceil(-Math.log10(step) - 1e-9);
    return String.format(Locale.ROOT, "%." + decimals + "f", v);
  }

  private static String fmt4(double v) {
    return String.format(Locale.ROOT, "%.4f", v);
  }

  private static String pt(double x, double y) {
    return String.format(Locale.ROOT, "%.1f,%.1f ", x, y);
  }

  static double width(String text) {
    return text.length() * CHAR;
  }

  static String shorten(String label) {
    return label.length() <= MAX_LABEL ? label : label.substring(0, MAX_LABEL - 1) + "\u2026";
  }

  static void text(StringBuilder s, double x, double y, String text, String anchor, int rotate, String cls, String extra) {
    s.append(String.format(Locale.ROOT, "<text class=\"%s\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"", cls, x, y, anchor));
    if (rotate != 0) {
      s.append(String.format(Locale.ROOT, " transform=\"rotate(%d %.1f %.1f)\"", rotate, x, y));
    }
    if (extra != null) {
      s.append(' ').append(extra);
    }
    s.append('>').append(ReportJob.esc(text)).append("</text>\n");
  }
}

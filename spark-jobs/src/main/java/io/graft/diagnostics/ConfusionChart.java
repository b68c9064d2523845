package io.graft.diagnostics;

import java.util.List;
import java.util.Locale;

/**
 * The report's confusion matrix as inline SVG, laid out like {@link SvgChart}'s charts: class
 * labels on both axes (turned and thinned when crowded), cells shaded by their share of the row.
 */
final class ConfusionChart {
  private ConfusionChart() {}

  /**
   * A confusion matrix: rows are the actual class, columns the predicted one, each cell shaded by
   * its share of its row and labelled with its count when the cell is large enough to hold it.
   */
  static String render(String title, List<String> classes, long[][] counts) {
    int k = classes.size();
    double rowLabels = 28 + classes.stream().mapToDouble(c -> SvgChart.width(SvgChart.shorten(c))).max().orElse(10) + 8;
    double side = Math.min(SvgChart.WIDTH - rowLabels - 20, 520);
    double cell = side / k;
    SvgChart.XLabels xl = SvgChart.XLabels.layout(classes, side);
    double left = Math.max(rowLabels, xl.overhang() + 4);
    double top = 40;
    double height = top + side + xl.height() + SvgChart.FONT + 24;
    StringBuilder s = new StringBuilder();
    s.append(String.format(Locale.ROOT, "<svg class=\"chart\" viewBox=\"0 0 %d %.0f\" "
        + "role=\"img\" font-family=\"sans-serif\" font-size=\"%.0f\"><title>%s</title>%n", SvgChart.WIDTH, height, SvgChart.FONT,
        ReportJob.esc(title)));
    s.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%.0f\" fill=\"#fff\"/>%n", SvgChart.WIDTH, height));
    SvgChart.text(s, SvgChart.WIDTH / 2.0, 22, title, "middle", 0, "title", "font-size=\"14\" font-weight=\"bold\"");
    double valueFont = Math.min(SvgChart.FONT, cell * 0.42);
    int rowStep = (int) Math.ceil(1.4 * SvgChart.FONT / cell);
    for (int a = 0; a < k; a++) {
      long row = 0;
      for (long c : counts[a]) {
        row += c;
      }
      double cy = top + a * cell;
      if (a % rowStep == 0) {
        SvgChart.text(s, left - 6, cy + cell / 2 + SvgChart.FONT * 0.35, SvgChart.shorten(classes.get(a)), "end", 0, "tick", null);
      }
      for (int p = 0; p < k; p++) {
        double share = row == 0 ? 0 : (double) counts[a][p] / row;
        int shade = (int) Math.round(255 - 200 * share);
        s.append(String.format(Locale.ROOT, "<rect class=\"mark\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
            + "fill=\"rgb(%d,%d,255)\" stroke=\"#fff\"/>%n", left + p * cell, cy, cell, cell, shade, shade));
        String v = Long.toString(counts[a][p]);
        if (valueFont >= 7 && v.length() * 0.62 * valueFont < cell - 4) {
          SvgChart.text(s, left + p * cell + cell / 2, cy + cell / 2 + valueFont * 0.35, v, "middle", 0, "cell",
              String.format(Locale.ROOT, "font-size=\"%.1f\" fill=\"%s\"", valueFont, share > 0.6 ? "#fff" : "#222"));
        }
      }
    }
    xl.render(s, left, side, top + side);
    SvgChart.text(s, 16, top + side / 2, "actual", "middle", -90, "axis-title", null);
    SvgChart.text(s, left + side / 2, top + side + xl.height() + SvgChart.FONT + 8, "predicted", "middle", 0, "axis-title", null);
    return s.append("</svg>\n").toString();
  }
}

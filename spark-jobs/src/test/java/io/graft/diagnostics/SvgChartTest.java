package io.graft.diagnostics;

import static org.assertj.core.api.Assertions.assertThat;

import io.graft.testing.Chromium;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The report's charts stay readable at any size: crowded charts (60 long category names, 24 runs in
 * one legend, a 47-class confusion matrix) are laid out and then measured by the report's own layout
 * check in headless Chromium at two window widths: every chart renders, no two labels overlap, none is
 * clipped. The check itself is shown to catch an overlap, so a pass means something.
 */
class SvgChartTest {
  @TempDir
  Path dir;

  static String page(List<String> svgs) {
    StringBuilder h = new StringBuilder("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>body{margin:1em}"
        + "svg.chart{display:block;width:100%;max-width:800px;height:auto}</style></head><body>\n");
    svgs.forEach(h::append);
    return h.append("<script>").append(LayoutCheck.SCRIPT).append("</script></body></html>").toString();
  }

  static List<Double> range(int n) {
    return IntStream.range(0, n).mapToDouble(i -> i).boxed().toList();
  }

  static List<String> crowdedCharts() {
    List<String> out = new ArrayList<>();
    for (int n : new int[] {2, 7, 14, 30, 60}) {
      List<String> names = IntStream.range(0, n).mapToObj(i -> "trunk.stage" + (i % 4 + 1) + ".block" + i + ".conv2 (frozen)").toList();
      List<Double> x = range(n);
      List<Double> y = x.stream().map(v -> 0.5 + 0.4 * Math.sin(v)).toList();
      out.add(SvgChart.bars("Final test_accuracy per variant, " + n + " variants", "variant", "test_accuracy", names)
          .add("test_accuracy", x, y, y.stream().map(v -> 0.02).toList()).render());
      out.add(SvgChart.categoryLines("Probe accuracy per layer, " + n + " layers", "layer", "accuracy", names).add("model a", x, y, null)
          .add("model b", x, y.stream().map(v -> v * 0.9).toList(), null).render());
    }
    SvgChart rounds = SvgChart.lines("Training loss per round, 24 runs", "round", "train loss");
    for (int r = 0; r < 24; r++) {
      int k = r;
      rounds.add("gradual-unfreeze, " + (10 * (r % 3 + 1)) + " labels per class, seed " + r, range(40),
          range(40).stream().map(v -> 2.5 / (1 + v * (0.1 + k * 0.01))).toList(), null);
    }
    out.add(rounds.render());
    List<String> budgets = List.of("1", "5", "10", "20", "50", "100", "all");
    out.add(SvgChart.categoryLines("Learning curves", "labelled rows per class", "test_accuracy", budgets)
        .add("scratch", range(7), List.of(0.3, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9), List.of(0.05, 0.04, 0.03, 0.02, 0.01, 0.01, 0.0))
        .add("two-stage", range(7), List.of(0.5, 0.6, 0.7, 0.75, 0.82, 0.86, 0.9), List.of(0.05, 0.04, 0.03, 0.02, 0.01, 0.01, 0.0))
        .render());
    List<String> classes = IntStream.range(0, 47).mapToObj(i -> i < 10 ? Integer.toString(i) : "class-" + (char) ('A' + i % 26) + i).toList();
    long[][] counts = new long[47][47];
    for (int a = 0; a < 47; a++) {
      counts[a][a] = 1200 + a;
      counts[a][(a + 1) % 47] = 37;
    }
    out.add(ConfusionChart.render("Confusion matrix, 47 classes", classes, counts));
    List<String> ten = IntStream.range(0, 10).mapToObj(Integer::toString).toList();
    long[][] small = new long[10][10];
    for (int a = 0; a < 10; a++) {
      small[a][a] = 980 + a;
      small[a][9 - a] += 12;
    }
    out.add(ConfusionChart.render("Confusion matrix, 10 classes", ten, small));
    return out;
  }

  @Test
  void ticksAreRoundNumbersCoveringTheRange() {
    assertThat(SvgChart.niceTicks(0.61, 0.93, 6, false)).containsExactly(0.65, 0.7, 0.75, 0.8, 0.85, 0.9);
    assertThat(SvgChart.niceTicks(1, 12, 8, true)).containsExactly(2.0, 4.0, 6.0, 8.0, 10.0, 12.0);
    assertThat(SvgChart.niceTicks(1, 2, 8, true)).containsExactly(1.0, 2.0);
  }

  @Test
  void crowdedChartsRenderWithoutOverlappingOrClippedLabelsAtTwoWindowWidths() throws Exception {
    List<String> charts = crowdedCharts();
    Path html = dir.resolve("charts.html");
    Files.writeString(html, page(charts));
    Chromium chromium = Chromium.find().orElse(null);
    Assumptions.assumeTrue(chromium != null, "chromium not installed (.ci/run installs it)");
    for (int width : new int[] {1280, 500}) {
      assertThat(chromium.requireCleanLayout(html, width).get("charts")).isEqualTo(Integer.toString(charts.size()));
      // and the pixels are there: the first chart's bars in the palette's first colour
      Path png = dir.resolve("charts-" + width + ".png");
      chromium.screenshot(html, width, 1200, png);
      assertThat(pixels(ImageIO.read(png.toFile()), 0x1f77b4)).as("bar pixels at %d px", width).isGreaterThan(2000);
    }
  }

  @Test
  void theLayoutCheckSeesOverlappingLabels() throws Exception {
    Chromium chromium = Chromium.find().orElse(null);
    Assumptions.assumeTrue(chromium != null, "chromium not installed (.ci/run installs it)");
    String svg = "<svg class=\"chart\" viewBox=\"0 0 400 100\"><rect class=\"mark\" width=\"10\" height=\"10\"/>"
        + "<text x=\"50\" y=\"50\">gradual-unfreeze</text><text x=\"90\" y=\"52\" transform=\"rotate(-45 90 52)\">scratch</text>"
        + "<text x=\"390\" y=\"90\">clipped at the right edge</text></svg>";
    Path html = dir.resolve("overlap.html");
    Files.writeString(html, page(List.of(svg)));
    Map<String, String> found = chromium.bodyAttributes(html, 1280);
    assertThat(found.get("label-overlaps")).isEqualTo("1");
    assertThat(found.get("labels-clipped")).isEqualTo("1");
    assertThat(found.get("overlap-detail")).contains("\"gradual-unfreeze\" / \"scratch\"");
  }

  static long pixels(BufferedImage img, int rgb) {
    long n = 0;
    for (int y = 0; y < img.getHeight(); y++) {
      for (int x = 0; x < img.getWidth(); x++) {
        if ((img.getRGB(x, y) & 0xffffff) == rgb) {
          n++;
        }
      }
    }
    return n;
  }
}

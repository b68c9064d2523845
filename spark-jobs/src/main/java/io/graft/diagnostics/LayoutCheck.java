package io.graft.diagnostics;

/**
 * The script at the end of every report: once the browser has laid the page out, it measures each
 * chart and writes what it found onto {@code <body>}, where a headless browser's DOM dump (or a
 * person's inspector) reads it. Each label's box is taken in screen coordinates with its rotation
 * (four corners through the element's CTM), and two labels overlap when no edge of either box
 * separates them (the separating-axis test for convex shapes), by more than half a pixel.
 *
 * <ul>
 *   <li>{@code data-charts}: charts on the page; {@code data-charts-rendered}: those the browser
 *       drew with a non-zero size and at least one visible data mark;
 *   <li>{@code data-label-overlaps}: pairs of labels in one chart that overlap, and
 *       {@code data-overlap-detail} the first few of them;
 *   <li>{@code data-labels-clipped}: labels reaching outside their chart;
 *   <li>{@code data-page-overflow}: pixels the page is wider than the window (0 when it fits);
 *   <li>{@code data-window-width}: the window's width, to tell which layout was measured.
 * </ul>
 */
final class LayoutCheck {
  private LayoutCheck() {}

  static final String SCRIPT = """
      window.addEventListener('load', function () {
        function corners(t) {
          var b = t.getBBox(), m = t.getScreenCTM();
          return [[b.x, b.y], [b.x + b.width, b.y], [b.x + b.width, b.y + b.height], [b.x, b.y + b.height]].map(function (p) {
            return [m.a * p[0] + m.c * p[1] + m.e, m.b * p[0] + m.d * p[1] + m.f];
          });
        }
        function separated(a, b) {
          var shapes = [a, b];
          for (var s = 0; s < 2; s++) {
            var p = shapes[s];
            for (var i = 0; i < 4; i++) {
              var q = p[(i + 1) % 4], nx = q[1] - p[i][1], ny = p[i][0] - q[0], len = Math.hypot(nx, ny);
              if (len === 0) { continue; }
              nx /= len; ny /= len;
              var amin = Infinity, amax = -Infinity, bmin = Infinity, bmax = -Infinity;
              a.forEach(function (c) { var d = c[0] * nx + c[1] * ny; amin = Math.min(amin, d); amax = Math.max(amax, d); });
              b.forEach(function (c) { var d = c[0] * nx + c[1] * ny; bmin = Math.min(bmin, d); bmax = Math.max(bmax, d); });
              if (amax <= bmin + 0.5 || bmax <= amin + 0.5) { return true; }
            }
          }
          return false;
        }
        var charts = document.querySelectorAll('svg.chart'), rendered = 0, overlaps = 0, clipped = 0, detail = [];
        charts.forEach(function (svg, k) {
          var box = svg.getBoundingClientRect();
          var marks = Array.prototype.filter.call(svg.querySelectorAll('.mark'), function (m) {
            var b = m.getBBox(); return b.width > 0 || b.height > 0;
          });
          if (box.width > 0 && box.height > 0 && marks.length > 0) { rendered++; }
          var texts = Array.prototype.filter.call(svg.querySelectorAll('text'), function (t) { return t.textContent.trim() !== ''; });
          var quads = texts.map(corners);
          quads.forEach(function (q, i) {
            if (q.some(function (c) { return c[0] < box.left - 1 || c[0] > box.right + 1 || c[1] < box.top - 1 || c[1] > box.bottom + 1; })) {
              clipped++;
              if (detail.length < 5) { detail.push('chart ' + (k + 1) + ': clipped "' + texts[i].textContent + '"'); }
            }
            for (var j = i + 1; j < quads.length; j++) {
              if (!separated(q, quads[j])) {
                overlaps++;
                if (detail.length < 5) {
                  detail.push('chart ' + (k + 1) + ': "' + texts[i].textContent + '" / "' + texts[j].textContent + '"');
                }
              }
            }
          });
        });
        var body = document.body;
        body.setAttribute('data-charts', String(charts.length));
        body.setAttribute('data-charts-rendered', String(rendered));
        body.setAttribute('data-label-overlaps', String(overlaps));
        body.setAttribute('data-labels-clipped', String(clipped));
        body.setAttribute('data-overlap-detail', detail.join('; '));
        body.setAttribute('data-page-overflow', String(Math.max(0, document.documentElement.scrollWidth - window.innerWidth)));
        body.setAttribute('data-window-width', String(window.innerWidth));
      });
      """;
}

package io.graft.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.commons.io.FileUtils;

/**
 * Headless Chromium for the report's browser checks: a page's DOM after its scripts ran (the
 * report's layout check writes its findings onto {@code <body>}) and screenshots, at a given
 * window width. Chromium's smallest window is 500 pixels wide.
 */
public final class Chromium {
  private final String binary;

  private Chromium(String binary) {
    this.binary = binary;
  }

  /** The installed browser, if any ({@code .ci/run} installs Debian's chromium). */
  public static Optional<Chromium> find() {
    for (String c : List.of("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")) {
      if (Files.isExecutable(Path.of(c))) {
        return Optional.of(new Chromium(c));
      }
    }
    return Optional.empty();
  }

  /** The {@code data-*} attributes of the page's {@code <body>} once it has loaded, in a window this wide. */
  public Map<String, String> bodyAttributes(Path html, int width) throws IOException, InterruptedException {
    String dom = run(html, width, 900, "--dump-dom");
    Matcher body = Pattern.compile("<body([^>]*)>").matcher(dom);
    if (!body.find()) {
      throw new IllegalStateException("chromium returned no <body> for " + html + ": " + dom.lines().limit(5).toList());
    }
    Map<String, String> out = new LinkedHashMap<>();
    Matcher a = Pattern.compile("data-([a-z-]+)=\"([^\"]*)\"").matcher(body.group(1));
    while (a.find()) {
      out.put(a.group(1), a.group(2).replace("&quot;", "\""));
    }
    return out;
  }

  /**
   * Loads a report in a window this wide and requires what its layout check found: every chart
   * drawn (and at least one), no two labels overlapping, none clipped, nothing wider than the
   * window. Returns the attributes for further checks.
   */
  public Map<String, String> requireCleanLayout(Path html, int width) throws IOException, InterruptedException {
    Map<String, String> found = bodyAttributes(html, width);
    assertThat(found.get("window-width")).isEqualTo(Integer.toString(width));
    assertThat(found.get("charts-rendered")).as("charts drawn at %d px", width).isEqualTo(found.get("charts")).isNotEqualTo("0");
    assertThat(found.get("label-overlaps")).as("%s", found.get("overlap-detail")).isEqualTo("0");
    assertThat(found.get("labels-clipped")).as("%s", found.get("overlap-detail")).isEqualTo("0");
    assertThat(found.get("page-overflow")).as("page wider than a %d px window", width).isEqualTo("0");
    return found;
  }

  /** A screenshot of the page's first {@code height} pixels in a window this wide. */
  public void screenshot(Path html, int width, int height, Path png) throws IOException, InterruptedException {
    run(html, width, height, "--screenshot=" + png.toAbsolutePath());
    if (!Files.isRegularFile(png)) {
      throw new IllegalStateException("chromium wrote no screenshot of " + html);
    }
  }

  private String run(Path html, int width, int height, String what) throws IOException, InterruptedException {
    Path profile = Files.createTempDirectory("chromium-profile-");
    Process p = new ProcessBuilder(binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--user-data-dir=" + profile,
        "--window-size=" + width + "," + height, "--virtual-time-budget=10000", what, html.toUri().toString())
        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
    try {
      String out = new String(p.getInputStream().readAllBytes());
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException("chromium did not finish with " + html + " within 120 s");
      }
      return out;
    } finally {
      FileUtils.deleteQuietly(profile.toFile());
    }
  }
}

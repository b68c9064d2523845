package io.graft.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The command line sits on top: jobs, diagnostics, the engine, Spark ML and the pipeline run without it. */
class LayeringTest {
  private static final Path SOURCES = Path.of("src/main/java/io/graft");

  @Test
  void onlyTheCommandLineUsesTheCommandLine() throws IOException {
    List<String> offenders;
    try (Stream<Path> files = Files.walk(SOURCES)) {
      offenders = files.filter(f -> f.toString().endsWith(".java") && !f.startsWith(SOURCES.resolve("cli")))
          .filter(f -> read(f).contains("io.graft.cli")).map(Path::toString).sorted().toList();
    }
    assertThat(SOURCES.resolve("pipeline/runner/PipelineRunner.java")).exists();
    assertThat(offenders).as("classes outside io.graft.cli that use it").isEmpty();
  }

  private static String read(Path f) {
    try {
      return Files.readString(f);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}

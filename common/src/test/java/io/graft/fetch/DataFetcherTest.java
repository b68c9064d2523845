package io.graft.fetch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.graft.config.ConfigException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataFetcherTest {
  @TempDir Path dest;

  @Test
  void fetchVerifiesIsIdempotentAndRepairsACorruptedFile() throws Exception {
    List<String> log = new ArrayList<>();
    DataFetcher fetcher = new DataFetcher(dest, log::add);
    Path dir = fetcher.fetch(List.of("sentiment")).get("sentiment");
    Path amazon = dir.resolve("amazon.json");
    assertThat(DataFetcher.sha256(amazon)).isEqualTo("bc5eb0cac49fc45987301f1dc2d02cf5ca356ba6c882be179dce77d74e666ed9");
    FileTime first = Files.getLastModifiedTime(amazon);

    log.clear();
    fetcher.fetch(List.of("sentiment"));
    assertThat(log).containsExactly("sentiment: present and verified in " + dir);
    assertThat(Files.getLastModifiedTime(amazon)).isEqualTo(first);

    Files.writeString(dir.resolve("yelp.json"), "[]");
    log.clear();
    fetcher.fetch(List.of("sentiment"));
    assertThat(DataFetcher.sha256(dir.resolve("yelp.json"))).isEqualTo("9f3f47983f21eeb819380767b74bfa648eca208f156241111454b3e122773ff7");
    assertThat(log).anyMatch(l -> l.startsWith("sentiment: yelp.json verified"));
    assertThat(log).noneMatch(l -> l.contains("amazon.json verified"));
    try (var files = Files.list(dest)) {
      assertThat(files.map(p -> p.getFileName().toString())).containsExactly("sentiment");
    }
  }

  @Test
  void aRelativeDestinationWorks() throws Exception {
    // npm and tar run inside a work folder; a relative destination once made tar look for the
    // archive relative to that folder ("Cannot open: No such file or directory").
    Path relative = Path.of("").toAbsolutePath().relativize(dest.toAbsolutePath());
    assertThat(relative.isAbsolute()).isFalse();
    Path dir = new DataFetcher(relative, s -> {}).fetch(List.of("sentiment")).get("sentiment");
    assertThat(DataFetcher.sha256(dir.resolve("imdb.json"))).isEqualTo("44a7b9082ed732ee2de3c858ea5ee2e99aca34f239a1c4359d3a300bf099bdb5");
  }

  @Test
  void unknownDatasetListsTheKnownOnes() {
    assertThatThrownBy(() -> new DataFetcher(dest, s -> {}).fetch(List.of("cifar10")))
        .isInstanceOf(ConfigException.class)
        .hasMessage("Unknown dataset 'cifar10' (known: mnist, fashion-mnist, digits, sentiment, imdb, wink-embeddings)");
  }
}

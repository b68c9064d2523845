package io.graft.testing;

import io.graft.fetch.DataFetcher;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The real raw datasets for tests, fetched once (through Graft's own fetcher, checksums verified)
 * into {@code graft.data.dir} (the build sets it to {@code data/raw} in the checkout).
 */
public final class TestData {
  private TestData() {}

  public static Path rawDir() {
    String dir = System.getProperty("graft.data.dir");
    return Path.of(dir == null || dir.isBlank() ? "data/raw" : dir).toAbsolutePath();
  }

  /** The folder of a fetched raw dataset (mnist, fashion-mnist, digits, sentiment, imdb, wink-embeddings). */
  public static synchronized Path raw(String name) {
    try {
      Map<String, Path> dirs = new DataFetcher(rawDir(), line -> System.out.println("[test-data] " + line)).fetch(List.of(name));
      return dirs.get(name);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

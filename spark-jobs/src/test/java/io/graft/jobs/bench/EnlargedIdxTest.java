package io.graft.jobs.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.graft.config.ConfigException;
import io.graft.data.DataException;
import io.graft.data.ImportFormat;
import io.graft.jobs.importer.ImportConfig;
import io.graft.jobs.importer.ImportJob;
import io.graft.store.Storage;
import io.graft.testing.SparkTests;
import io.graft.testing.TestData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code graft bench-growth-data} on MNIST's 10,000 real test images: the originals first, then
 * moved copies of them with the originals' labels, the same bytes for the same seed, and a dataset
 * {@code graft import} reads.
 */
class EnlargedIdxTest {
  private static final Path RAW = TestData.raw("mnist");
  private static final Path IMAGES = RAW.resolve("t10k-images-idx3-ubyte");
  private static final Path LABELS = RAW.resolve("t10k-labels-idx1-ubyte");
  private static final int PIXELS = 28 * 28;
  private static final Storage STORAGE = new Storage(new Configuration());

  @TempDir Path work;

  @Test
  void originalsFirstThenMovedCopiesWithTheirLabels() throws Exception {
    EnlargedIdx.Result r = EnlargedIdx.write(STORAGE, IMAGES.toString(), LABELS.toString(), 25_000, 7, work.resolve("a"));
    byte[] source = Files.readAllBytes(IMAGES);
    byte[] sourceLabels = Files.readAllBytes(LABELS);
    byte[] images = Files.readAllBytes(r.images());
    byte[] labels = Files.readAllBytes(r.labels());
    assertThat(images).hasSize(16 + 25_000 * PIXELS);
    assertThat(labels).hasSize(8 + 25_000);
    assertThat(Arrays.copyOfRange(images, 16, 16 + 10_000 * PIXELS)).isEqualTo(Arrays.copyOfRange(source, 16, source.length));
    int moved = 0;
    for (int row = 10_000; row < 25_000; row++) {
      int s = row % 10_000;
      assertThat(labels[8 + row]).isEqualTo(sourceLabels[8 + s]);
      byte[] copy = Arrays.copyOfRange(images, 16 + row * PIXELS, 16 + (row + 1) * PIXELS);
      byte[] original = Arrays.copyOfRange(source, 16 + s * PIXELS, 16 + (s + 1) * PIXELS);
      moved += Arrays.equals(copy, original) ? 0 : 1;
      // moved, not blanked: the ink is still there
      assertThat(ink(copy)).isGreaterThan(ink(original) / 3);
    }
    assertThat(moved).as("rows past the originals are shifted or rotated").isGreaterThan(14_000);
    // seeded: the same seed writes the same bytes, another seed other bytes
    assertThat(Files.readAllBytes(EnlargedIdx.write(STORAGE, IMAGES.toString(), LABELS.toString(), 25_000, 7, work.resolve("b")).images())).isEqualTo(images);
    assertThat(Files.readAllBytes(EnlargedIdx.write(STORAGE, IMAGES.toString(), LABELS.toString(), 25_000, 8, work.resolve("c")).images())).isNotEqualTo(images);
    // nothing half-written is left beside the result
    try (var files = Files.list(work.resolve("a"))) {
      assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("train-images-idx3-ubyte", "train-labels-idx1-ubyte");
    }
  }

  @Test
  void theEnlargedFilesImportAsAGraftDataset() throws Exception {
    EnlargedIdx.Result r = EnlargedIdx.write(STORAGE, IMAGES.toString(), LABELS.toString(), 12_000, 1, work.resolve("idx"));
    String out = work.resolve("ds").toUri().toString();
    ImportJob.run(ImportConfig.of(ImportFormat.IDX, r.images().toUri().toString(), out).withClasses(10, List.of()), SparkTests.spark(),
        System.out::println);
    assertThat(SparkTests.spark().read().parquet(out).count()).isEqualTo(12_000);
  }

  @Test
  void aFileThatIsNotIdxImagesIsRefusedInOneLineAndNothingIsWritten() {
    Path out = work.resolve("bad");
    assertThatThrownBy(() -> EnlargedIdx.write(STORAGE, LABELS.toString(), LABELS.toString(), 100, 1, out))
        .isInstanceOf(ConfigException.class)
        .hasMessage(LABELS + " is not an IDX image file (3 dimensions: count, height, width)");
    assertThatThrownBy(() -> EnlargedIdx.write(STORAGE, IMAGES.toString(), RAW.resolve("train-labels-idx1-ubyte").toString(), 100, 1, out))
        .isInstanceOf(DataException.class)
        .hasMessageStartingWith("IDX files disagree: ").hasMessageContaining("10000 records").hasMessageContaining("60000");
    assertThat(out).doesNotExist();
  }

  private static long ink(byte[] image) {
    long sum = 0;
    for (byte b : image) {
      sum += b & 0xff;
    }
    return sum;
  }
}

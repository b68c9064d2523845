package io.graft.jobs.importer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.graft.config.ConfigException;
import io.graft.data.BadRecordPolicy;
import io.graft.data.DataException;
import io.graft.data.ImportFormat;
import io.graft.data.Manifest;
import io.graft.data.image.ImageEncoder.Encoding;
import io.graft.data.image.ImageFit;
import io.graft.jobs.export.ImageExportJob;
import io.graft.jobs.export.ImageExportJob.Layout;
import io.graft.testing.SparkTests;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real MNIST and UCI digits written as image files (PNG, JPEG, mixed encodings and sizes, a corrupt file)
 * by {@code graft export-images}, imported back and compared with the IDX import they came from.
 */
class ImageImportTest {
  static final int ROWS = 600;
  final SparkSession spark = SparkTests.spark();
  @TempDir static Path dir;
  static String png;

  /** The digits as a folder of PNGs, one corrupt file among them. */
  @BeforeAll
  static void writePngFolder() throws Exception {
    png = export("png-folder", Layout.FOLDER, Encoding.PNG, 1, false);
  }

  static String export(String name, Layout layout, Encoding encoding, int corrupt, boolean colour) throws Exception {
    String out = dir.resolve(name).toUri().toString();
    ImageExportJob.run(new ImageExportJob.Spec(SparkTests.mnistTest(), out, layout, encoding, ROWS, corrupt, colour, 1), SparkTests.spark(),
        s -> {});
    return out;
  }

  static ImportConfig images(ImportFormat format, String input, String output) {
    return ImportConfig.of(format, input, output).withPolicy(BadRecordPolicy.SKIP);
  }

  ImportJob.Result run(ImportConfig config) throws Exception {
    return ImportJob.run(config, spark, s -> {});
  }

  /** Each row's label and exact pixels, counted: two datasets with equal counts hold the same images. */
  static Map<String, Integer> images(Dataset<Row> rows) {
    Map<String, Integer> counts = new HashMap<>();
    for (Row r : rows.select("label", "features").collectAsList()) {
      counts.merge(r.getInt(0) + ":" + r.getList(1), 1, Integer::sum);
    }
    return counts;
  }

  Dataset<Row> source() {
    Dataset<Row> all = spark.read().parquet(SparkTests.mnistTest());
    List<Row> first = all.javaRDD().zipWithIndex().filter(t -> t._2() < ROWS).map(t -> t._1()).collect();
    return spark.createDataFrame(first, all.schema());
  }

  String out(String name) {
    return dir.resolve(name).toUri().toString();
  }

  @Test
  void pngFolderEqualsTheIdxImportPixelForPixelAndSkipCountsTheCorruptFile() throws Exception {
    Manifest m = run(images(ImportFormat.IMAGE_FOLDER, png, out("png-import"))).manifest();
    assertThat(m.rowCount()).isEqualTo(ROWS);
    assertThat(m.skippedRows()).isEqualTo(1);
    assertThat(m.featureShape()).containsExactly(1, 28, 28);
    assertThat(m.classNames()).containsExactly("0", "1", "2", "3", "4", "5", "6", "7", "8", "9");
    assertThat(m.normalisation().channelMean()).hasSize(1);
    assertThat(m.normalisation().channelMean()[0]).isCloseTo(m.normalisation().mean(), Offset.offset(1e-9));
    assertThat(m.sources().get(0).files()).isEqualTo(ROWS + 1);
    assertThat(m.importRun().files()).isEqualTo(ROWS + 1);
    assertThat(m.importRun().host()).contains("cores");
    assertThat(images(spark.read().parquet(out("png-import")))).isEqualTo(images(source()));
  }

  /** Labels and pixels quantised to 8 bits, counted. */
  static Map<String, Integer> bytes(Dataset<Row> rows) {
    Map<String, Integer> counts = new HashMap<>();
    for (Row r : rows.select("label", "features").collectAsList()) {
      StringBuilder key = new StringBuilder().append(r.getInt(0)).append(':');
      for (Object v : r.getList(1)) {
        key.append(Math.round(((Number) v).floatValue() * 255)).append(',');
      }
      counts.merge(key.toString(), 1, Integer::sum);
    }
    return counts;
  }

  @Test
  void uciDigitsAsPngEqualTheirCsvImportAtEightBits() throws Exception {
    String files = out("digits-png");
    ImageExportJob.run(new ImageExportJob.Spec(SparkTests.digits8(), files, Layout.FOLDER, Encoding.PNG, 0, 0, false, 1), spark, s -> {});
    Manifest m = run(images(ImportFormat.IMAGE_FOLDER, files, out("digits-import"))).manifest();
    assertThat(m.rowCount()).isEqualTo(1797);
    assertThat(m.featureShape()).containsExactly(1, 8, 8);
    // optdigits counts sixteenths: 8-bit files hold them to within half a level
    assertThat(bytes(spark.read().parquet(out("digits-import")))).isEqualTo(bytes(spark.read().parquet(SparkTests.digits8())));
  }

  @Test
  void failNamesTheCorruptFileAndWritesNothing() {
    String output = out("png-fail");
    assertThatThrownBy(() -> run(images(ImportFormat.IMAGE_FOLDER, png, output).withPolicy(BadRecordPolicy.FAIL)))
        .isInstanceOf(DataException.class)
        .hasMessage("Bad record in 7/corrupt-0.png: cannot decode image: Error reading PNG image data; nothing was written "
            + "(use --on-bad-record skip to drop such rows)");
    assertThat(Files.exists(dir.resolve("png-fail"))).isFalse();
    assertThat(dir.toFile().list((d, n) -> n.startsWith("._staging"))).isEmpty();
  }

  @Test
  void jpegListIsWithinTheCodecsError() throws Exception {
    String list = export("jpeg-list", Layout.LIST, Encoding.JPEG, 0, false) + "/list.csv";
    Manifest jpeg = run(images(ImportFormat.IMAGE_LIST, list, out("jpeg-import"))).manifest();
    Manifest idx = run(images(ImportFormat.IMAGE_FOLDER, png, out("png-import-2"))).manifest();
    assertThat(jpeg.rowCount()).isEqualTo(ROWS);
    assertThat(jpeg.classCounts()).containsExactly(idx.classCounts());
    double worst = 0;
    double[] a = jpeg.normalisation().featureMean();
    double[] b = idx.normalisation().featureMean();
    for (int i = 0; i < a.length; i++) {
      worst = Math.max(worst, Math.abs(a[i] - b[i]));
    }
    assertThat(worst).isLessThan(0.01);
    assertThat(jpeg.sources().get(0).sha256()).hasSize(64);
  }

  @Test
  void mixedEncodingsAndSizesNeedResizeAndThenDecode() throws Exception {
    String mixed = export("mixed-folder", Layout.FOLDER, null, 0, false);
    ImportConfig config = images(ImportFormat.IMAGE_FOLDER, mixed, out("mixed-import")).withPolicy(BadRecordPolicy.FAIL);
    assertThatThrownBy(() -> run(config)).hasMessageContaining("the dataset's images are").hasMessageContaining("(pass --resize HxW");
    Manifest m = run(config.withResize(28, 28, 0).withImages(new ImportConfig.ImageOptions(1, ImageFit.STRETCH, null, null, 0))).manifest();
    assertThat(m.rowCount()).isEqualTo(ROWS);
    assertThat(m.skippedRows()).isZero();
    // the lossless files among them are the digits exactly: every PNG, GIF and BMP of the original size
    Map<String, Integer> source = images(source());
    Map<String, Integer> imported = images(spark.read().parquet(out("mixed-import")));
    long exact = imported.entrySet().stream().filter(e -> source.containsKey(e.getKey())).mapToLong(Map.Entry::getValue).sum();
    assertThat(exact).isGreaterThanOrEqualTo(ROWS * 3 / 8 * 4 / 5 - 10).isLessThan(ROWS);
  }

  @Test
  void tablesOfEncodedFilesAndSparkImageStructsImport() throws Exception {
    String table = export("png-table", Layout.TABLE, Encoding.PNG, 0, false) + "/table";
    assertThat(images(spark.read().parquet(run(images(ImportFormat.IMAGE_TABLE, table, out("table-import"))).output())))
        .isEqualTo(images(source()));

    // colour PNGs read by Spark's own image source (BGR bytes) equal the same files imported as a folder (RGB)
    String colour = export("colour-folder", Layout.FOLDER, Encoding.PNG, 0, true);
    String structs = out("image-structs");
    spark.read().format("image").load(colour + "/*/*.png")
        .withColumn("label", functions.regexp_extract(functions.col("image.origin"), "/(\\d)/[^/]+$", 1).cast("int"))
        .write().parquet(structs);
    Manifest fromStructs = run(images(ImportFormat.IMAGE_TABLE, structs, out("struct-import")).withClasses(10, List.of())).manifest();
    Manifest fromFiles = run(images(ImportFormat.IMAGE_FOLDER, colour, out("colour-import"))).manifest();
    assertThat(fromFiles.featureShape()).containsExactly(3, 28, 28);
    assertThat(fromStructs.featureShape()).containsExactly(3, 28, 28);
    assertThat(fromStructs.normalisation().channelMean()).hasSize(3);
    assertThat(images(spark.read().parquet(out("struct-import")))).isEqualTo(images(spark.read().parquet(out("colour-import"))));
    // the tint gives the three channels different means: a channel swap would show
    double[] c = fromFiles.normalisation().channelMean();
    assertThat(Math.abs(c[0] - c[2])).isGreaterThan(1e-3);
  }

  @Test
  void stringLabelsOfAListBecomeSortedClassNames() throws Exception {
    Path csv = dir.resolve("named.csv");
    List<String> lines = new ArrayList<>();
    String base = dir.resolve("png-folder").toString();
    for (int k = 0; k < 3; k++) {
      for (String f : new File(base, Integer.toString(k)).list()) {
        lines.add(base + "/" + k + "/" + f + "," + List.of("zero", "one", "two").get(k));
      }
    }
    lines.add("no-such.png,zero");
    lines.add("x.png,three-ish");
    Files.write(csv, lines);
    Manifest m = run(images(ImportFormat.IMAGE_LIST, csv.toUri().toString(), out("named-import"))).manifest();
    assertThat(m.classNames()).containsExactly("one", "three-ish", "two", "zero");
    assertThat(m.skippedRows()).isEqualTo(2);
    assertThatThrownBy(() -> run(images(ImportFormat.IMAGE_LIST, csv.toUri().toString(), out("named-fail")).withPolicy(BadRecordPolicy.FAIL)))
        .hasMessageStartingWith("Bad record in named.csv:");
  }

  @Test
  void badLayoutsAreRefusedInOneLineBeforeAnyWork() throws Exception {
    assertThatThrownBy(() -> run(images(ImportFormat.IMAGE_FOLDER, out("nowhere"), out("x"))))
        .isInstanceOf(ConfigException.class).hasMessageStartingWith("Image folder not found: ");
    Path flat = Files.createDirectories(dir.resolve("flat"));
    Files.write(flat.resolve("a.png"), new byte[] {1});
    assertThatThrownBy(() -> run(images(ImportFormat.IMAGE_FOLDER, flat.toUri().toString(), out("x"))))
        .hasMessageContaining("has no class sub-folders");
    assertThatThrownBy(() -> run(images(ImportFormat.IMAGE_FOLDER, png, out("x")).withClasses(0, List.of("0", "1", "2", "3", "4", "5", "6", "7",
        "8", "nine"))))
        .hasMessageEndingWith("no folder for [nine]; unnamed folders [9]");
    String table = export("png-table-2", Layout.TABLE, Encoding.PNG, 0, false) + "/table";
    assertThatThrownBy(() -> run(images(ImportFormat.IMAGE_TABLE, table, out("x")).withImages(
        new ImportConfig.ImageOptions(0, null, "pixels", null, 0))))
        .hasMessageEndingWith("has no image column 'pixels' (columns: path, content, label; pass --image-column)");
    assertThatThrownBy(() -> run(images(ImportFormat.IMAGE_TABLE, table, out("x")).withImages(
        new ImportConfig.ImageOptions(0, null, "path", null, 0))))
        .hasMessageEndingWith("is string; it must be binary (encoded image files) or Spark's image struct");
  }
}

package io.graft.jobs.export;

import io.graft.config.ConfigException;
import io.graft.data.ImageResize;
import io.graft.data.Manifest;
import io.graft.data.image.ImageEncoder;
import io.graft.data.image.ImageEncoder.Encoding;
import io.graft.spark.GraftDatasets;
import io.graft.spark.GraftSpark;
import io.graft.store.SerializableConf;
import io.graft.store.Storage;
import java.io.IOException;
import java.io.OutputStream;
import java.io.Serializable;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.UUID;
import java.util.function.Consumer;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import scala.Tuple2;

/**
 * {@code graft export-images}: writes an image dataset's rows as image files, the layouts
 * {@code graft import} reads back: {@code folder} (one sub-folder per class), {@code list}
 * ({@code images/} plus {@code list.csv} of path,label) or {@code table} (Parquet of path,
 * content, label). With {@code mixed} encodings the files cycle through grey, RGB and 16-bit PNG,
 * GIF, BMP, baseline, progressive and EXIF-rotated JPEG, and every fifth is enlarged to
 * {@code (H+4)x(W+4)}, as collections gathered from many sources are. Files are encoded and
 * written on the executors; the folder is written under a staging name and renamed when complete.
 */
public final class ImageExportJob {
  private ImageExportJob() {}

  /** Where the files go and how they look. */
  public enum Layout { FOLDER, LIST, TABLE }

  /**
   * @param data the Graft dataset to export (image-shaped: [C, H, W])
   * @param out the folder to write (replaced if it exists)
   * @param encoding one encoding for every file, or null for the mixed collection
   * @param limit rows exported (0: all)
   * @param corrupt extra files holding the first half of a valid PNG (bad records for the importer)
   * @param colour tint every grey image with a random colour (seeded per row), giving 3-channel images
   */
  public record Spec(String data, String out, Layout layout, Encoding encoding, long limit, int corrupt, boolean colour, long seed)
      implements Serializable {
    public Spec {
      ConfigException.require(limit >= 0, "--limit must be non-negative, cannot be: %s", limit);
      ConfigException.require(corrupt >= 0, "--corrupt must be non-negative, cannot be: %s", corrupt);
      layout = layout == null ? Layout.FOLDER : layout;
    }
  }

  public record Result(String out, long files, double seconds) {}

  public static Result run(Spec spec, SparkSession spark, Consumer<String> log) throws IOException {
    long started = System.nanoTime();
    Storage storage = new Storage(spark.sparkContext().hadoopConfiguration());
    GraftDatasets.Loaded data = GraftDatasets.read(spark, storage, spec.data(), "export");
    Manifest m = data.manifest();
    int[] shape = m.featureShape();
    ConfigException.require(shape.length == 3 && (shape[0] == 1 || shape[0] == 3),
        "Cannot export %s as images: its feature shape %s is not [1 or 3, height, width]", spec.data(), Arrays.toString(shape));
    GraftSpark.jobGroup(spark, "graft-export-images", "export " + spec.data() + " as images");
    Path out = storage.qualify(storage.path(spec.out()));
    Path staging = new Path(out.getParent(), "._staging-" + out.getName() + "-" + UUID.randomUUID());
    List<String> folders = new ArrayList<>();
    for (String name : m.classNames()) {
      folders.add(name.replaceAll("[^A-Za-z0-9._-]", "_"));
    }
    SerializableConf conf = new SerializableConf(spark.sparkContext().hadoopConfiguration());
    JavaRDD<Row> rows = data.rows().select(GraftDatasets.FEATURES, GraftDatasets.LABEL).javaRDD();
    if (spec.limit() > 0) {
      long limit = spec.limit();
      rows = rows.zipWithIndex().filter(t -> t._2() < limit).map(Tuple2::_1);
    }
    Encode encode = new Encode(conf, staging.toString(), spec, shape, folders);
    JavaRDD<Written> written = rows.zipWithIndex().mapPartitions(encode);
    try {
      long files;
      if (spec.layout() == Layout.TABLE) {
        StructType schema = new StructType().add("path", DataTypes.StringType, false).add("content", DataTypes.BinaryType, false)
            .add("label", DataTypes.IntegerType, false);
        JavaRDD<Row> table = written.map(w -> RowFactory.create(w.path(), w.content(), w.label()));
        spark.createDataFrame(table, schema).write().parquet(new Path(staging, "table").toString());
        files = spark.read().parquet(new Path(staging, "table").toString()).count();
      } else {
        written = written.cache();
        files = written.count();
        if (spec.layout() == Layout.LIST) {
          Path parts = new Path(staging, "._list");
          written.map(w -> w.path() + "," + w.label()).coalesce(1).saveAsTextFile(parts.toString());
          FileSystem fs = storage.fs(parts);
          for (FileStatus s : fs.listStatus(parts)) {
            if (s.getPath().getName().startsWith("part-")) {
              fs.rename(s.getPath(), new Path(staging, "list.csv"));
            }
          }
          fs.delete(parts, true);
        }
        written.unpersist(false);
      }
      storage.replaceDirectory(staging, out);
      double seconds = (System.nanoTime() - started) / 1e9;
      log.accept(String.format("wrote %,d image files (%s, %s) to %s in %.1f s", files, spec.layout().toString().toLowerCase(Locale.ROOT),
          spec.encoding() == null ? "mixed encodings" : spec.encoding().toString().toLowerCase(Locale.ROOT), out, seconds));
      return new Result(out.toString(), files, seconds);
    } finally {
      if (storage.exists(staging)) {
        storage.delete(staging);
      }
    }
  }

  /** One file written: its path (relative to the output for list and table), label and, for tables, its bytes. */
  record Written(String path, int label, byte[] content) implements Serializable {}

  /** Encodes rows to files (or table cells) on an executor. */
  static final class Encode implements FlatMapFunction<Iterator<Tuple2<Row, Long>>, Written> {
    private final SerializableConf conf;
    private final String root;
    private final Spec spec;
    private final int[] shape;
    private final List<String> folders;

    Encode(SerializableConf conf, String root, Spec spec, int[] shape, List<String> folders) {
      this.conf = conf;
      this.root = root;
      this.spec = spec;
      this.shape = shape;
      this.folders = folders;
    }

    @Override
    public Iterator<Written> call(Iterator<Tuple2<Row, Long>> rows) throws IOException {
      List<Written> out = new ArrayList<>();
      FileSystem fs = new Path(root).getFileSystem(conf.get());
      while (rows.hasNext()) {
        Tuple2<Row, Long> t = rows.next();
        long index = t._2();
        List<Float> values = t._1().getList(0);
        float[] image = new float[values.size()];
        for (int i = 0; i < image.length; i++) {
          image[i] = values.get(i);
        }
        int label = t._1().getInt(1);
        int c = shape[0];
        int h = shape[1];
        int w = shape[2];
        Random rng = new Random(spec.seed() * 1_000_003L + index);
        if (spec.colour() && c == 1) {
          image = tint(image, h * w, rng);
          c = 3;
        }
        Encoding encoding = spec.encoding();
        if (encoding == null) {
          encoding = ImageEncoder.mixed((int) (index % Integer.MAX_VALUE));
          if (index % 5 == 4) {
            image = ImageResize.bilinear(image, c, h, w, h + 4, w + 4);
            h += 4;
            w += 4;
          }
        }
        byte[] bytes = ImageEncoder.encode(image, c, h, w, encoding);
        String name = String.format("%08d.%s", index, encoding.extension());
        out.add(write(fs, label, name, bytes));
        if (index == 0) {
          // the corrupt files travel with row 0: the first half of a valid PNG each
          byte[] png = ImageEncoder.encode(image, c, h, w, Encoding.PNG);
          for (int k = 0; k < spec.corrupt(); k++) {
            out.add(write(fs, label, String.format("corrupt-%d.png", k), Arrays.copyOf(png, png.length / 2)));
          }
        }
      }
      return out.iterator();
    }

    private Written write(FileSystem fs, int label, String name, byte[] bytes) throws IOException {
      String relative = switch (spec.layout()) {
        case FOLDER -> folders.get(label) + "/" + name;
        case LIST -> "images/" + name;
        case TABLE -> folders.get(label) + "/" + name;
      };
      if (spec.layout() == Layout.TABLE) {
        return new Written(relative, label, bytes);
      }
      Path target = new Path(root, relative);
      if (fs instanceof LocalFileSystem) {
        // Hadoop's local filesystem writes a .crc beside every file and, without its native
        // library, forks a chmod per file: 10x slower than writing the file
        java.nio.file.Path local = java.nio.file.Path.of(target.toUri());
        Files.createDirectories(local.getParent());
        Files.write(local, bytes);
      } else {
        try (OutputStream o = fs.create(target, true)) {
          o.write(bytes);
        }
      }
      return new Written(relative, label, null);
    }

    /** The grey image as the brightness of one random, fairly saturated colour. */
    private static float[] tint(float[] grey, int plane, Random rng) {
      float[] colour = new float[3];
      for (int k = 0; k < 3; k++) {
        colour[k] = 0.2f + 0.8f * rng.nextFloat();
      }
      colour[rng.nextInt(3)] = 1f;
      float[] out = new float[3 * plane];
      for (int k = 0; k < 3; k++) {
        for (int i = 0; i < plane; i++) {
          out[k * plane + i] = grey[i] * colour[k];
        }
      }
      return out;
    }
  }
}

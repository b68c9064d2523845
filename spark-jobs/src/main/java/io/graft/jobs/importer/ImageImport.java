package io.graft.jobs.importer;

import io.graft.config.ConfigException;
import io.graft.data.BadRecordException;
import io.graft.data.DataException;
import io.graft.data.Example;
import io.graft.data.ImportFormat;
import io.graft.data.Manifest;
import io.graft.data.image.ImageDecoder;
import io.graft.data.image.ImageSpec;
import io.graft.jobs.importer.ImageSources.Ref;
import io.graft.jobs.importer.ImageSources.TableColumns;
import io.graft.platform.Host;
import io.graft.spark.GraftDatasets;
import io.graft.spark.GraftSpark;
import io.graft.store.SerializableConf;
import io.graft.store.Storage;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.stream.IntStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;

/**
 * {@code graft import --format image-folder | image-list | image-table}: encoded images to a Graft
 * dataset. The driver checks the layout and reads one image for the shape when none is given; the
 * executors list the files, read and decode them (about {@code 128 MB} of decoded rows per task,
 * so a task is also one Parquet file) and write the rows in one pass; the statistics are read
 * back from the written rows. Nothing but file names and counts reaches the driver.
 */
final class ImageImport {
  /** Decoded bytes per task (and Parquet file) when --files-per-task is not given. */
  private static final long TASK_BYTES = 128L << 20;
  private static final int MAX_FILES_PER_TASK = 5000;
  private static final Duration PROGRESS_EVERY = Duration.ofSeconds(10);

  private ImageImport() {}

  /** Driver-only checks for {@code graft import}'s validation step: inputs exist and have the expected layout. */
  static void validate(ImportConfig config, Storage storage) {
    switch (config.format()) {
      case IMAGE_FOLDER -> ImageSources.classFolders(storage, config.input(), config.classNames(), config.numClasses());
      case IMAGE_LIST, IMAGE_TABLE -> storage.requireExists(storage.path(config.input()), config.format() == ImportFormat.IMAGE_LIST ? "Image list"
          : "Image table");
      default -> throw new IllegalArgumentException(config.format().toString());
    }
  }

  static ImportJob.Result run(ImportConfig config, SparkSession spark, Storage storage, Consumer<String> log) throws IOException {
    long started = System.nanoTime();
    validate(config, storage);
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    GraftSpark.jobGroup(spark, "graft-import", "import " + config.format() + " " + config.input());
    SerializableConf conf = new SerializableConf(spark.sparkContext().hadoopConfiguration());
    ImportConfig.ImageOptions options = config.images();
    Path input = storage.qualify(storage.path(config.input()));

    List<String> classNames;
    JavaRDD<Ref> refs = null;
    Dataset<Row> table = null;
    TableColumns columns = null;
    List<Manifest.Source> sources = new ArrayList<>();
    switch (config.format()) {
      case IMAGE_FOLDER -> {
        classNames = ImageSources.classFolders(storage, config.input(), config.classNames(), config.numClasses());
        List<Integer> labels = IntStream.range(0, classNames.size()).boxed().toList();
        refs = jsc.parallelize(labels, Math.max(1, Math.min(labels.size(), 4 * jsc.defaultParallelism())))
            .flatMap(new ImageSources.ListClassFolder(conf, input.toString(), classNames));
      }
      case IMAGE_LIST -> {
        JavaRDD<TextLines.Line> lines = TextLines.lines(jsc, input.toString(), config.header());
        List<String> distinct = lines.map(l -> String.valueOf(ImageSources.listLabel(l.text()))).distinct().take(100_001);
        ConfigException.require(distinct.size() <= 100_000, "image-list %s has more than 100000 distinct labels", config.input());
        List<String> names = ImageSources.labelNames(distinct, config.classNames());
        classNames = names != null ? names : config.classNames();
        refs = lines.map(new ImageSources.ParseListLine(input.getParent().toString(), names));
        sources.add(new Manifest.Source(input.toString(), storage.status(input).getLen(), storage.sha256(input)));
      }
      case IMAGE_TABLE -> {
        table = spark.read().parquet(input.toString());
        columns = TableColumns.of(table, config.input(), options.imageColumn(), options.labelColumn());
        if (columns.stringLabel()) {
          List<String> distinct = table.select(columns.label()).distinct().limit(100_001).as(Encoders.STRING()).collectAsList();
          classNames = ImageSources.labelNames(distinct.stream().map(String::valueOf).toList(), config.classNames());
          classNames = classNames == null ? List.of() : classNames;
        } else {
          classNames = config.classNames();
        }
        long bytes = 0;
        long files = 0;
        for (FileStatus s : storage.fs(input).listStatus(input)) {
          if (s.isFile() && s.getPath().getName().endsWith(".parquet")) {
            bytes += s.getLen();
            files++;
          }
        }
        sources.add(new Manifest.Source(input.toString(), bytes, null, files, null));
      }
      default -> throw new IllegalArgumentException(config.format().toString());
    }

    if (refs != null) {
      refs = refs.persist(StorageLevel.MEMORY_AND_DISK_SER());
    }
    ImageSpec spec = spec(config, storage, conf, refs, table, columns, log);
    int numFeatures = spec.channels() * spec.height() * spec.width();
    int filesPerTask = options.filesPerTask() > 0 ? options.filesPerTask() : (int) Math.max(16, Math.min(MAX_FILES_PER_TASK, TASK_BYTES / (4L * numFeatures)));

    long listed;
    JavaRDD<Row> rows;
    LongAccumulator done = jsc.sc().longAccumulator("graft-import-files");
    LongAccumulator bytesRead = jsc.sc().longAccumulator("graft-import-bytes");
    CollectionAccumulator<String> firstBad = jsc.sc().collectionAccumulator("graft-import-bad");
    DecodeImages decode = new DecodeImages(conf, spec, config.numClasses() > 0 ? config.numClasses() : classNames.size(), config.onBadRecord(),
        config.domain(), config.task(), columns, columns != null && columns.stringLabel() ? classNames : null, done, bytesRead, firstBad);
    if (refs != null) {
      listed = refs.count();
      if (config.limit() > 0 && listed > config.limit()) {
        long limit = config.limit();
        refs = refs.zipWithIndex().filter(t -> t._2() < limit).map(t -> t._1());
        listed = limit;
      }
      if (listed == 0) {
        throw new DataException("No image files (" + String.join(", ", ImageSources.EXTENSIONS) + ") in " + config.input());
      }
      if (config.format() == ImportFormat.IMAGE_FOLDER) {
        ImageSources.Fingerprint f = refs.treeAggregate(new ImageSources.Fingerprint(), ImageSources.Fingerprint::add,
            ImageSources.Fingerprint::merge, 2);
        sources.add(new Manifest.Source(input.toString(), f.bytes, null, f.files, f.hex()));
      }
      int tasks = tasks(config, listed, filesPerTask, jsc.defaultParallelism());
      log.accept(String.format("%,d image files listed in %s (%.1f s); decoding to %s in %d task(s)", listed, config.input(),
          (System.nanoTime() - started) / 1e9, Arrays.toString(spec.featureShape()), tasks));
      rows = refs.repartition(tasks).mapPartitions(decode.files());
    } else {
      listed = table.count();
      if (config.limit() > 0 && listed > config.limit()) {
        table = table.limit((int) Math.min(Integer.MAX_VALUE, config.limit()));
        listed = config.limit();
      }
      int tasks = tasks(config, listed, filesPerTask, jsc.defaultParallelism());
      JavaRDD<Row> in = table.javaRDD();
      in = in.getNumPartitions() == tasks ? in : in.repartition(tasks);
      log.accept(String.format("%,d image rows in %s; decoding to %s in %d task(s)", listed, config.input(), Arrays.toString(spec.featureShape()),
          tasks));
      rows = in.mapPartitionsWithIndex(decode.rows(), true);
    }

    Path output = storage.qualify(storage.path(config.output()));
    Path staging = new Path(output.getParent(), "._staging-" + output.getName() + "-" + UUID.randomUUID());
    try {
      try (ImportProgress progress = new ImportProgress(done, listed, PROGRESS_EVERY, log)) {
        spark.createDataFrame(rows, GraftDatasets.SCHEMA).write().parquet(staging.toString());
        log.accept(progress.line());
      } catch (Exception e) { // Spark's SparkException is checked, though Scala throws it undeclared
        DataException bad = badRecord(e);
        if (bad != null) {
          throw new DataException("Bad record in " + bad.getMessage() + "; nothing was written (use --on-bad-record skip to drop such rows)");
        }
        if (e instanceof RuntimeException r) {
          throw r;
        }
        throw new IOException(e.getMessage(), e);
      }
      double decoded = (System.nanoTime() - started) / 1e9;
      JavaRDD<Example> written = spark.read().parquet(staging.toString()).select(GraftDatasets.FEATURES, GraftDatasets.LABEL).javaRDD()
          .map(r -> new Example(floats(r.getList(0)), r.getInt(1), null));
      ImportStats stats = written.treeAggregate(new ImportStats(numFeatures), ImportStats::add, ImportStats::merge, 2);
      long skipped = listed - stats.count;
      if (skipped > 0) {
        List<String> examples = firstBad.value();
        log.accept("skipped " + skipped + " bad file(s)" + (examples.isEmpty() ? "" : "; the first: " + examples.get(0)));
      }
      if (stats.count == 0) {
        throw new DataException("No usable images in " + config.input() + " (" + skipped + " skipped as bad)");
      }
      int numClasses = config.numClasses() > 0 ? config.numClasses() : !classNames.isEmpty() ? classNames.size() : stats.maxLabel + 1;
      List<String> names = !classNames.isEmpty() ? classNames : ImportJob.defaultNames(numClasses);
      ConfigException.require(names.size() == numClasses, "--class-names lists %s names but the data has %s classes", names.size(), numClasses);
      double seconds = (System.nanoTime() - started) / 1e9;
      long bytes = bytesRead.value();
      Manifest manifest = new Manifest(Manifest.FORMAT_VERSION, config.format().toString(), spec.featureShape(), numFeatures, numClasses, names,
          stats.count, stats.classCounts(numClasses), stats.unlabelled, skipped, stats.normalisation(spec.featureShape()), sources,
          config.domain(), config.task(), false, Instant.now().toString(),
          new Manifest.ImportRun(listed, bytes, seconds, listed / seconds, bytes / 1e6 / seconds, Host.describe()));
      manifest.write(storage, staging);
      storage.replaceDirectory(staging, output);
      log.accept(String.format("imported %,d images (%d classes, shape %s%s) into %s in %.1f s (%,.0f files/s; statistics %.1f s)", stats.count,
          numClasses, Arrays.toString(spec.featureShape()), skipped > 0 ? ", " + skipped + " skipped" : "", output, seconds, listed / seconds,
          seconds - decoded));
      return new ImportJob.Result(output.toString(), manifest);
    } finally {
      GraftSpark.deleteStaging(spark, storage, staging);
      if (refs != null) {
        refs.unpersist(false);
      }
    }
  }

  /** Decode tasks: --partitions, else enough for {@code filesPerTask} each and, while files allow, a few per core. */
  static int tasks(ImportConfig config, long files, int filesPerTask, int cores) {
    if (config.partitions() > 0) {
      return config.partitions();
    }
    long bySize = (files + filesPerTask - 1) / filesPerTask;
    long byCores = Math.min(4L * cores, (files + 255) / 256);
    return (int) Math.max(1, Math.max(bySize, byCores));
  }

  private static float[] floats(List<Object> values) {
    float[] f = new float[values.size()];
    for (int i = 0; i < f.length; i++) {
      f[i] = ((Number) values.get(i)).floatValue();
    }
    return f;
  }

  /** The bad-record exception a failed Spark job carries, if that is why it failed. */
  private static DataException badRecord(Throwable e) {
    // Spark hands the task's exception back as the cause where it can, else only in its message
    String marker = DecodeImages.BadImage.class.getName() + ": ";
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof DecodeImages.BadImage b) {
        return new DataException(b.getMessage());
      }
      String m = t.getMessage();
      int at = m == null ? -1 : m.indexOf(marker);
      if (at >= 0) {
        String rest = m.substring(at + marker.length());
        int end = rest.indexOf('\n');
        return new DataException(end < 0 ? rest : rest.substring(0, end));
      }
    }
    return null;
  }

  /**
   * The shape of every row: {@code --channels} and {@code --resize} where given, else the
   * first image's (read on the driver).
   */
  private static ImageSpec spec(ImportConfig config, Storage storage, SerializableConf conf, JavaRDD<Ref> refs, Dataset<Row> table,
      TableColumns columns, Consumer<String> log) throws IOException {
    int channels = config.images().channels();
    List<Integer> size = config.resize();
    ConfigException.require(config.pad() == 0, "--pad applies to idx and digits-csv; for image files use --fit pad");
    if (channels != 0 && !size.isEmpty()) {
      return new ImageSpec(channels, size.get(0), size.get(1), config.images().fit(), true);
    }
    ImageDecoder.Pixels first;
    String where;
    try {
      if (table != null) {
        List<Row> one = table.limit(1).collectAsList();
        if (one.isEmpty()) {
          throw new DataException("image-table " + config.input() + " has no rows");
        }
        where = columns.location(one.get(0), 0);
        first = columns.pixels(one.get(0), where);
      } else {
        Ref r = firstRef(config, storage, refs);
        where = r.location();
        first = ImageDecoder.read(ImageSources.readFile(conf, r.uri(), r.bytes()), r.location());
      }
    } catch (BadRecordException e) {
      throw new DataException("Cannot take the image shape from the first image, " + e.getMessage() + " (pass --channels and --resize)");
    }
    int c = channels != 0 ? channels : first.channels();
    int h = size.isEmpty() ? first.height() : size.get(0);
    int w = size.isEmpty() ? first.width() : size.get(1);
    log.accept(String.format("shape from the first image (%s, %d channel(s), %dx%d): %d channel(s), %dx%d%s", where, first.channels(),
        first.height(), first.width(), c, h, w, size.isEmpty() ? "; images of another size are bad records (pass --resize)" : ""));
    return new ImageSpec(c, h, w, config.images().fit(), !size.isEmpty());
  }

  /** The first file in listing order, found without listing everything. */
  private static Ref firstRef(ImportConfig config, Storage storage, JavaRDD<Ref> refs) throws IOException {
    if (config.format() == ImportFormat.IMAGE_LIST) {
      Path list = storage.path(config.input());
      String line = TextLines.firstDataLine(storage, list, config.header());
      if (line == null) {
        throw new DataException("image-list " + config.input() + " has no lines");
      }
      int comma = line.lastIndexOf(',');
      String file = (comma < 0 ? line : line.substring(0, comma)).trim().replaceAll("^\"(.*)\"$", "$1");
      Path p = Storage.hasScheme(file) || file.startsWith("/") ? new Path(file) : new Path(storage.qualify(list).getParent(), file);
      return new Ref(p.toString(), list.getName() + ":" + (config.header() ? 2 : 1) + " (" + file + ")", 0, -1, null);
    }
    List<Ref> first = refs.take(1);
    if (first.isEmpty()) {
      throw new DataException("No image files (" + String.join(", ", ImageSources.EXTENSIONS) + ") in " + config.input());
    }
    return first.get(0);
  }
}

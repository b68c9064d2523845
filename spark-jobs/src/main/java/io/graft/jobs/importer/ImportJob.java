package io.graft.jobs.importer;

import io.graft.config.ConfigException;
import io.graft.data.BadRecordPolicy;
import io.graft.data.DataException;
import io.graft.data.Example;
import io.graft.data.IdxReader;
import io.graft.data.ImageResize;
import io.graft.data.ImportFormat;
import io.graft.data.Manifest;
import io.graft.jobs.Job;
import io.graft.jobs.JobMain;
import io.graft.jobs.JobResult;
import io.graft.platform.Host;
import io.graft.spark.GraftDatasets;
import io.graft.spark.GraftSpark;
import io.graft.store.SerializableConf;
import io.graft.store.Storage;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.function.Consumer;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import scala.Tuple2;

/**
 * {@code graft import}: converts raw data (IDX, optdigits CSV, review JSON, CSV, LIBSVM) into a
 * Graft dataset: Parquet rows plus {@code _manifest.json}. Each format has its
 * {@link FormatReader} ({@link IdxFormat}, {@link LineFormats}, {@link ReviewsFormat}; image files
 * go through {@link ImageImport}); line formats and IDX ranges are parsed on executors; every row
 * is checked (width, label range, finite values) and a bad one either
 * stops the import naming its file and line, or is skipped and counted. The dataset is written
 * to a staging folder and moved into place only when complete.
 */
public final class ImportJob {
  private ImportJob() {}

  /** {@code graft import}: the inputs checked before Spark starts. */
  public static final Job<ImportConfig> JOB = Job.withArgs("import", ImportArgs::new, (config, env, resume) -> validate(config, env.storage()),
      (config, context) -> run(config, context.spark(), context.log()));

  /** Entry point for {@code spark-submit --class io.graft.jobs.importer.ImportJob}: the same options as {@code graft import}. */
  public static void main(String[] args) {
    System.exit(JobMain.run(JOB, args));
  }

  /** What an import wrote (its progress lines said what it read). */
  public record Result(String output, Manifest manifest) implements JobResult {
    @Override
    public List<String> lines() {
      return List.of();
    }
  }

  /** Checks the inputs before Spark does any work; returns the raw files (for checksums). */
  public static List<Path> validate(ImportConfig config, Storage storage) {
    if (config.format().encodedImages()) {
      ImageImport.validate(config, storage);
      return List.of();
    }
    List<Path> files = new ArrayList<>(expand(storage, config.input(), "Input"));
    if (config.embeddings() != null) {
      storage.requireExists(storage.path(config.embeddings()), "Embeddings file");
    }
    if (config.format() == ImportFormat.IDX) {
      files.addAll(expand(storage, config.labelsOrDefault(), "IDX label file"));
      try {
        IdxReader.inspect(storage, files.get(0), files.get(1));
      } catch (IOException e) {
        throw new DataException("Cannot read IDX input " + config.input() + ": " + e.getMessage(), e);
      }
    }
    return files;
  }

  private static List<Path> expand(Storage storage, String location, String what) {
    Path p = storage.path(location);
    try {
      FileStatus[] matches = storage.fs(p).globStatus(p);
      if (matches == null || matches.length == 0) {
        throw new ConfigException(what + " not found: " + location);
      }
      List<Path> files = new ArrayList<>();
      for (FileStatus s : matches) {
        if (s.isDirectory()) {
          for (FileStatus c : storage.fs(s.getPath()).listStatus(s.getPath())) {
            if (c.isFile() && !c.getPath().getName().startsWith(".") && !c.getPath().getName().startsWith("_")) {
              files.add(c.getPath());
            }
          }
        } else {
          files.add(s.getPath());
        }
      }
      if (files.isEmpty()) {
        throw new ConfigException(what + " has no files: " + location);
      }
      files.sort(null);
      return files;
    } catch (IOException e) {
      throw new ConfigException("Cannot access " + what.toLowerCase() + " " + location + ": " + e.getMessage(), e);
    }
  }

  public static Result run(ImportConfig config, SparkSession spark, Consumer<String> log) throws IOException {
    Storage storage = new Storage(spark.sparkContext().hadoopConfiguration());
    if (config.format().encodedImages()) {
      return ImageImport.run(config, spark, storage, log);
    }
    long started = System.nanoTime();
    List<Path> files = validate(config, storage);
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    GraftSpark.jobGroup(spark, "graft-import", "import " + config.format() + " " + config.input());
    SerializableConf conf = new SerializableConf(spark.sparkContext().hadoopConfiguration());

    FormatReader.Rows read = reader(config.format()).read(new FormatReader.Input(config, storage, jsc, conf, files, log));
    int[] featureShape = read.featureShape();
    JavaRDD<Parsed> parsed = read.parsed().map(new CheckRow(featureShape, config.numClasses()));
    parsed.persist(StorageLevel.MEMORY_AND_DISK());
    try {
      JavaRDD<Parsed> badRows = parsed.filter(p -> p.error() != null);
      List<Parsed> firstBad = badRows.take(1);
      long skipped = 0;
      if (!firstBad.isEmpty()) {
        long count = badRows.count();
        if (config.onBadRecord() == BadRecordPolicy.FAIL) {
          throw new DataException("Bad record in " + firstBad.get(0).error() + (count > 1 ? " (and " + (count - 1) + " more)" : "")
              + "; nothing was written (use --on-bad-record skip to drop such rows)");
        }
        skipped = count;
        log.accept("skipping " + count + " bad row(s); the first: " + firstBad.get(0).error());
      }
      JavaRDD<Example> examples = parsed.filter(p -> p.error() == null).map(Parsed::example);
      if (!config.resize().isEmpty() || config.pad() > 0) {
        int[] from = featureShape.length == 2 ? new int[] {1, featureShape[0], featureShape[1]} : featureShape;
        int h = config.resize().isEmpty() ? from[1] : config.resize().get(0);
        int w = config.resize().isEmpty() ? from[2] : config.resize().get(1);
        int pad = config.pad();
        int[] to = {from[0], h + 2 * pad, w + 2 * pad};
        examples = examples.map(e -> new Example(ImageResize.pad(ImageResize.bilinear(e.features(), from[0], from[1], from[2], h, w), from[0], h, w,
            pad), e.label(), e.text()));
        log.accept(String.format("resizing images from %dx%d to %dx%d (bilinear)%s", from[1], from[2], h, w,
            pad > 0 ? String.format(", padded to %dx%d", to[1], to[2]) : ""));
        featureShape = to;
      }
      if (config.limit() > 0) {
        long limit = config.limit();
        examples = examples.zipWithIndex().filter(t -> t._2() < limit).map(Tuple2::_1);
      }
      int numFeatures = Arrays.stream(featureShape).reduce(1, (a, b) -> a * b);
      ImportStats stats = examples.treeAggregate(new ImportStats(numFeatures), ImportStats::add, ImportStats::merge, 2);
      if (stats.count == 0) {
        throw new DataException("No usable rows in " + config.input() + (skipped > 0 ? " (" + skipped + " skipped as bad)" : ""));
      }
      int numClasses = config.numClasses() > 0 ? config.numClasses() : stats.maxLabel + 1;
      if (numClasses < 1) {
        throw new DataException("No labelled rows in " + config.input() + " and no --num-classes given");
      }
      List<String> classNames = config.classNames().isEmpty() ? defaultNames(numClasses) : config.classNames();
      if (classNames.size() != numClasses) {
        throw new ConfigException("--class-names lists " + classNames.size() + " names but the data has " + numClasses + " classes");
      }

      Path output = storage.qualify(storage.path(config.output()));
      Path staging = new Path(output.getParent(), "._staging-" + output.getName() + "-" + UUID.randomUUID());
      int partitions = config.partitions() > 0 ? config.partitions() : (int) Math.max(1, Math.min(64, stats.count / 20_000 + 1));
      JavaRDD<Row> rows = examples.map(new ToRow(config.domain(), config.task())).coalesce(partitions);
      try {
        spark.createDataFrame(rows, GraftDatasets.SCHEMA).write().parquet(staging.toString());
        List<Manifest.Source> sources = new ArrayList<>();
        for (Path f : files) {
          sources.add(new Manifest.Source(storage.qualify(f).toString(), storage.status(f).getLen(), storage.sha256(f)));
        }
        if (config.embeddings() != null) {
          Path e = storage.path(config.embeddings());
          sources.add(new Manifest.Source(storage.qualify(e).toString(), storage.status(e).getLen(), storage.sha256(e)));
        }
        Manifest manifest = new Manifest(Manifest.FORMAT_VERSION, config.format().toString(), featureShape, numFeatures, numClasses,
            classNames, stats.count, Arrays.copyOf(stats.classCounts(numClasses), numClasses), stats.unlabelled, skipped,
            stats.normalisation(featureShape), sources, config.domain(), config.task(), read.hasText(), Instant.now().toString(),
            importRun(files, sources, stats.count, started));
        manifest.write(storage, staging);
        storage.replaceDirectory(staging, output);
        log.accept(String.format("imported %,d rows (%d classes, %d features%s) into %s", stats.count, numClasses, numFeatures,
            skipped > 0 ? ", " + skipped + " skipped" : "", output));
        return new Result(output.toString(), manifest);
      } finally {
        GraftSpark.deleteStaging(spark, storage, staging);
      }
    } finally {
      parsed.unpersist(false);
    }
  }

  /** The reader of a row format (encoded images have their own import, {@link ImageImport}). */
  static FormatReader reader(ImportFormat format) {
    return switch (format) {
      case IDX -> new IdxFormat();
      case DIGITS_CSV -> LineFormats.DIGITS_CSV;
      case CSV -> LineFormats.CSV;
      case LIBSVM -> LineFormats.LIBSVM;
      case REVIEWS_JSON -> new ReviewsFormat();
      case IMAGE_FOLDER, IMAGE_LIST, IMAGE_TABLE -> throw new IllegalArgumentException(format + " is read by ImageImport");
    };
  }

  private static Manifest.ImportRun importRun(List<Path> files, List<Manifest.Source> sources, long rows, long started) {
    double seconds = (System.nanoTime() - started) / 1e9;
    long bytes = sources.stream().mapToLong(Manifest.Source::bytes).sum();
    return new Manifest.ImportRun(files.size(), bytes, seconds, files.size() / seconds, bytes / 1e6 / seconds, Host.describe());
  }

  static List<String> defaultNames(int numClasses) {
    List<String> names = new ArrayList<>();
    for (int i = 0; i < numClasses; i++) {
      names.add(Integer.toString(i));
    }
    return names;
  }

  /** Checks width, label range and finiteness of every parsed row. */
  static final class CheckRow implements Function<Parsed, Parsed> {
    private final int numFeatures;
    private final int numClasses;

    CheckRow(int[] featureShape, int numClasses) {
      this.numFeatures = Arrays.stream(featureShape).reduce(1, (a, b) -> a * b);
      this.numClasses = numClasses;
    }

    @Override
    public Parsed call(Parsed p) {
      if (p.error() != null) {
        return p;
      }
      Example e = p.example();
      String where = p.location();
      if (e.features().length != numFeatures) {
        return Parsed.bad(where + ": " + e.features().length + " features, expected " + numFeatures);
      }
      if (numClasses > 0 && e.label() >= numClasses) {
        return Parsed.bad(where + ": label " + e.label() + " is outside the " + numClasses + " classes [0, " + numClasses + ")");
      }
      return p;
    }
  }

  static final class ToRow implements Function<Example, Row> {
    private final String domain;
    private final String task;

    ToRow(String domain, String task) {
      this.domain = domain;
      this.task = task;
    }

    @Override
    public Row call(Example e) {
      return RowFactory.create(e.features(), e.label(), domain, task, e.text());
    }
  }
}

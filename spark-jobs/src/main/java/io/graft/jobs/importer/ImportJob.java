package io.graft.jobs.importer;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.graft.config.ConfigException;
import io.graft.data.BadRecordException;
import io.graft.data.BadRecordPolicy;
import io.graft.data.DataException;
import io.graft.data.Example;
import io.graft.data.ImageResize;
import io.graft.data.IdxReader;
import io.graft.data.ImportFormat;
import io.graft.data.Manifest;
import io.graft.data.RowParsers;
import io.graft.data.TextFeaturizer;
import io.graft.data.TextHashing;
import io.graft.data.WordEmbeddings;
import io.graft.platform.Host;
import io.graft.spark.GraftDatasets;
import io.graft.spark.GraftSpark;
import io.graft.store.SerializableConf;
import io.graft.store.Storage;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.LongWritable;
import org.apache.hadoop.io.Text;
import org.apache.hadoop.mapreduce.InputSplit;
import org.apache.hadoop.mapreduce.lib.input.FileSplit;
import org.apache.hadoop.mapreduce.lib.input.TextInputFormat;
import org.apache.spark.api.java.JavaNewHadoopRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import scala.Tuple2;

/**
 * {@code graft import}: converts raw data (IDX, optdigits CSV, review JSON, CSV, LIBSVM) into a
 * Graft dataset: Parquet rows plus {@code _manifest.json}. Line formats and IDX ranges are parsed
 * on executors; every row is checked (width, label range, finite values) and a bad one either
 * stops the import naming its file and line, or is skipped and counted. The dataset is written
 * to a staging folder and moved into place only when complete.
 */
public final class ImportJob {
  private static final int IDX_RECORDS_PER_TASK = 10_000;

  private ImportJob() {}

  /** Entry point for {@code spark-submit --class io.graft.jobs.importer.ImportJob}: the same options as {@code graft import}. */
  public static void main(String[] args) {
    System.exit(io.graft.cli.GraftCli.runCommand("import", args));
  }

  /** What an import wrote. */
  public record Result(String output, Manifest manifest) {}

  /** One parsed row, or why it could not be parsed. */
  record Parsed(Example example, String location, String error) implements Serializable {
    static Parsed ok(Example e, String location) {
      return new Parsed(e, location, null);
    }

    static Parsed bad(String error) {
      return new Parsed(null, null, error);
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

    int[] featureShape;
    float scale = 1f;
    JavaRDD<Parsed> parsed;
    boolean hasText = false;
    switch (config.format()) {
      case IDX -> {
        Path images = files.get(0);
        Path labels = files.get(1);
        IdxReader.Pair headers = IdxReader.inspect(storage, images, labels);
        int[] shape = headers.images().recordShape();
        featureShape = shape.length == 2 ? new int[] {1, shape[0], shape[1]} : shape;
        scale = 255f;
        int n = headers.images().count();
        List<int[]> ranges = new ArrayList<>();
        for (int s = 0; s < n; s += IDX_RECORDS_PER_TASK) {
          ranges.add(new int[] {s, Math.min(n, s + IDX_RECORDS_PER_TASK)});
        }
        parsed = jsc.parallelize(ranges, ranges.size())
            .flatMap(new ReadIdxRange(conf, images.toString(), labels.toString(), headers, scale));
      }
      case DIGITS_CSV -> {
        RowParsers.LineParser parser = new RowParsers.DigitsCsv();
        featureShape = parser.featureShape();
        scale = parser.scale();
        parsed = lines(jsc, config.input(), false).map(new ParseLine(parser));
      }
      case CSV -> {
        int width = csvWidth(storage, files.get(0), config);
        RowParsers.LineParser parser = new RowParsers.Csv(config.delimiter(), config.labelColumn(), width);
        featureShape = parser.featureShape();
        parsed = lines(jsc, config.input(), config.header()).map(new ParseLine(parser));
      }
      case LIBSVM -> {
        JavaRDD<Line> lines = lines(jsc, config.input(), false);
        int width = config.numFeatures();
        if (width == 0) {
          width = lines.map(l -> RowParsers.LibSvm.maxIndex(l.text())).fold(0, Math::max);
          ConfigException.require(width > 0, "Cannot infer the LIBSVM feature width of %s: no index:value entries (pass --num-features)", config.input());
          log.accept("libsvm: inferred " + width + " features from the largest index");
        }
        RowParsers.LineParser parser = new RowParsers.LibSvm(width);
        featureShape = parser.featureShape();
        parsed = lines.map(new ParseLine(parser));
      }
      case REVIEWS_JSON -> {
        TextFeaturizer featurizer = textFeaturizer(config, storage, log);
        featureShape = new int[] {featurizer.dim()};
        hasText = true;
        parsed = reviews(jsc, storage, files, featurizer);
      }
      default -> throw new ConfigException("Unsupported format: " + config.format());
    }

    parsed = parsed.map(new CheckRow(featureShape, config.numClasses()));
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
      Stats stats = examples.treeAggregate(new Stats(numFeatures), Stats::add, Stats::merge, 2);
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
            stats.normalisation(featureShape), sources, config.domain(), config.task(), hasText, Instant.now().toString(),
            importRun(files, sources, stats.count, started));
        manifest.write(storage, staging);
        storage.replaceDirectory(staging, output);
        log.accept(String.format("imported %,d rows (%d classes, %d features%s) into %s", stats.count, numClasses, numFeatures,
            skipped > 0 ? ", " + skipped + " skipped" : "", output));
        return new Result(output.toString(), manifest);
      } finally {
        if (storage.exists(staging)) {
          storage.delete(staging);
        }
      }
    } finally {
      parsed.unpersist(false);
    }
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

  /** The first non-blank line of a text file after its header line, if it has one; null when there is none. */
  static String firstDataLine(Storage storage, Path file, boolean header) throws IOException {
    try (BufferedReader r = new BufferedReader(new InputStreamReader(storage.open(file), StandardCharsets.UTF_8))) {
      String line = r.readLine();
      if (header && line != null) {
        line = r.readLine();
      }
      while (line != null && line.isBlank()) {
        line = r.readLine();
      }
      return line;
    }
  }

  /** The width of a CSV from its first data line (label column excluded). */
  private static int csvWidth(Storage storage, Path file, ImportConfig config) throws IOException {
    String line = firstDataLine(storage, file, config.header());
    if (line == null) {
      throw new DataException("CSV input " + file + " has no data lines");
    }
    int columns = line.split(Pattern.quote(config.delimiter()), -1).length;
    if (columns < 2) {
      throw new DataException("CSV input " + file + " line 1 has " + columns + " column(s); need features and a label (--delimiter is '"
          + config.delimiter() + "')");
    }
    return columns - 1;
  }

  /** A line of text and where it came from ("file:line" or "file@byte"). */
  record Line(String text, String location) implements Serializable {}

  /** Reads text lines with their locations; gzip files are decompressed by Hadoop's codecs. */
  @SuppressWarnings("unchecked")
  static JavaRDD<Line> lines(JavaSparkContext jsc, String input, boolean header) {
    JavaNewHadoopRDD<LongWritable, Text> raw = (JavaNewHadoopRDD<LongWritable, Text>) jsc.newAPIHadoopFile(
        input, TextInputFormat.class, LongWritable.class, Text.class, jsc.hadoopConfiguration());
    return raw.mapPartitionsWithInputSplit(new WithLocations(header), true).filter(l -> !l.text().isBlank());
  }

  static final class WithLocations implements Function2<InputSplit, Iterator<Tuple2<LongWritable, Text>>, Iterator<Line>> {
    private final boolean header;

    WithLocations(boolean header) {
      this.header = header;
    }

    @Override
    public Iterator<Line> call(InputSplit split, Iterator<Tuple2<LongWritable, Text>> it) {
      FileSplit fs = (FileSplit) split;
      String name = fs.getPath().getName();
      boolean fromStart = fs.getStart() == 0;
      List<Line> out = new ArrayList<>();
      long lineNo = 0;
      while (it.hasNext()) {
        Tuple2<LongWritable, Text> t = it.next();
        lineNo++;
        if (header && fromStart && lineNo == 1) {
          continue;
        }
        String location = fromStart ? name + ":" + lineNo : name + "@byte " + t._1().get();
        out.add(new Line(t._2().toString(), location));
      }
      return out.iterator();
    }
  }

  static final class ParseLine implements Function<Line, Parsed> {
    private final RowParsers.LineParser parser;

    ParseLine(RowParsers.LineParser parser) {
      this.parser = parser;
    }

    @Override
    public Parsed call(Line line) {
      try {
        return Parsed.ok(parser.parse(line.text(), line.location()), line.location());
      } catch (BadRecordException e) {
        return Parsed.bad(e.getMessage());
      }
    }
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

  /** Reads one range of an IDX pair on an executor. */
  static final class ReadIdxRange implements FlatMapFunction<int[], Parsed> {
    private final SerializableConf conf;
    private final String images;
    private final String labels;
    private final IdxReader.Pair headers;
    private final float scale;

    ReadIdxRange(SerializableConf conf, String images, String labels, IdxReader.Pair headers, float scale) {
      this.conf = conf;
      this.images = images;
      this.labels = labels;
      this.headers = headers;
      this.scale = scale;
    }

    @Override
    public Iterator<Parsed> call(int[] range) throws IOException {
      List<Parsed> out = new ArrayList<>(range[1] - range[0]);
      String name = new Path(labels).getName();
      int index = range[0];
      for (Example e : IdxReader.read(conf.storage(), new Path(images), new Path(labels), headers, range[0], range[1], scale)) {
        out.add(Parsed.ok(e, name + " record " + index++));
      }
      return out.iterator();
    }
  }

  /**
   * Reviews: a JSON array ({@code [{t, s}]} or {@code [{text, class}]}) is streamed on the driver
   * (it is one document) and its texts featurised on executors; JSON lines are read distributed.
   */
  /** Hashed bag of words, or the mean of pretrained word vectors when {@code --embeddings} is given. */
  static TextFeaturizer textFeaturizer(ImportConfig config, Storage storage, Consumer<String> log) throws IOException {
    if (config.embeddings() == null) {
      return new TextHashing(config.textDim());
    }
    Path path = storage.path(config.embeddings());
    try (InputStream in = storage.open(path)) {
      WordEmbeddings e = WordEmbeddings.read(in, config.embeddingVocab(), path.getName().replaceAll("\\.json$", ""));
      log.accept(String.format("embeddings: %,d words x %d dimensions from %s", e.size(), e.dim(), config.embeddings()));
      return e;
    }
  }

  private static JavaRDD<Parsed> reviews(JavaSparkContext jsc, Storage storage, List<Path> files, TextFeaturizer featurizer)
      throws IOException {
    List<String[]> raw = new ArrayList<>();
    for (Path f : files) {
      try (InputStream in = storage.open(f)) {
        readReviewArray(in, f.getName(), raw);
      }
    }
    int slices = Math.max(1, Math.min(64, raw.size() / 5000 + 1));
    return jsc.parallelize(raw, slices).map(new FeaturiseReview(jsc.broadcast(featurizer)));
  }

  /** Appends [text, label-or-null, location] for each element of a JSON array of reviews. */
  static void readReviewArray(InputStream in, String name, List<String[]> out) throws IOException {
    try (JsonParser p = new JsonFactory().createParser(in)) {
      JsonToken first = p.nextToken();
      if (first == JsonToken.START_OBJECT) {
        // JSON lines: one object per line
        int row = 0;
        JsonToken t = first;
        while (t == JsonToken.START_OBJECT) {
          out.add(readReview(p, name + ":" + (++row)));
          t = p.nextToken();
        }
        return;
      }
      if (first != JsonToken.START_ARRAY) {
        throw new DataException("Review file " + name + " is not a JSON array of objects (it starts with " + first + ")");
      }
      int row = 0;
      while (p.nextToken() == JsonToken.START_OBJECT) {
        out.add(readReview(p, name + "[" + (row++) + "]"));
      }
    } catch (JsonParseException e) {
      throw new DataException("Corrupt JSON in " + name + " at line " + e.getLocation().getLineNr() + ": " + e.getOriginalMessage());
    }
  }

  private static String[] readReview(JsonParser p, String location) throws IOException {
    String text = null;
    String label = null;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.getCurrentName();
      JsonToken v = p.nextToken();
      switch (field) {
        case "t", "text", "review" -> text = v == JsonToken.VALUE_NULL ? null : p.getText();
        case "s", "class", "label", "sentiment" -> label = v == JsonToken.VALUE_NULL ? null : p.getText();
        default -> p.skipChildren();
      }
    }
    return new String[] {text, label, location};
  }

  static final class FeaturiseReview implements Function<String[], Parsed> {
    private final Broadcast<TextFeaturizer> featurizer;

    FeaturiseReview(Broadcast<TextFeaturizer> featurizer) {
      this.featurizer = featurizer;
    }

    @Override
    public Parsed call(String[] r) {
      String location = r[2];
      if (r[0] == null || r[0].isBlank()) {
        return Parsed.bad(location + ": empty review text");
      }
      int label;
      if (r[1] == null) {
        return Parsed.bad(location + ": review has no label");
      }
      try {
        label = Integer.parseInt(r[1].trim());
      } catch (NumberFormatException e) {
        return Parsed.bad(location + ": label '" + r[1] + "' is not an integer");
      }
      if (label < 0) {
        return Parsed.bad(location + ": label " + label + " is negative");
      }
      return Parsed.ok(new Example(featurizer.value().features(r[0]), label, r[0]), location);
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

  /** Counts, class counts and feature moments, merged across partitions. */
  static final class Stats implements Serializable {
    long count;
    long unlabelled;
    int maxLabel = -1;
    long[] classCounts = new long[16];
    final double[] sum;
    final double[] sumSq;
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;

    Stats(int numFeatures) {
      sum = new double[numFeatures];
      sumSq = new double[numFeatures];
    }

    static Stats add(Stats s, Example e) {
      s.count++;
      if (e.label() < 0) {
        s.unlabelled++;
      } else {
        if (e.label() >= s.classCounts.length) {
          s.classCounts = Arrays.copyOf(s.classCounts, Math.max(e.label() + 1, s.classCounts.length * 2));
        }
        s.classCounts[e.label()]++;
        s.maxLabel = Math.max(s.maxLabel, e.label());
      }
      float[] f = e.features();
      for (int i = 0; i < f.length; i++) {
        double v = f[i];
        s.sum[i] += v;
        s.sumSq[i] += v * v;
        if (v < s.min) {
          s.min = v;
        }
        if (v > s.max) {
          s.max = v;
        }
      }
      return s;
    }

    static Stats merge(Stats a, Stats b) {
      a.count += b.count;
      a.unlabelled += b.unlabelled;
      a.maxLabel = Math.max(a.maxLabel, b.maxLabel);
      if (b.classCounts.length > a.classCounts.length) {
        a.classCounts = Arrays.copyOf(a.classCounts, b.classCounts.length);
      }
      for (int i = 0; i < b.classCounts.length; i++) {
        a.classCounts[i] += b.classCounts[i];
      }
      for (int i = 0; i < a.sum.length; i++) {
        a.sum[i] += b.sum[i];
        a.sumSq[i] += b.sumSq[i];
      }
      a.min = Math.min(a.min, b.min);
      a.max = Math.max(a.max, b.max);
      return a;
    }

    long[] classCounts(int numClasses) {
      return Arrays.copyOf(classCounts, numClasses);
    }

    /** The moments, with per-channel ones for image shapes ({@code [C, H, W]}). */
    Manifest.Normalisation normalisation(int[] featureShape) {
      Manifest.Normalisation all = normalisation();
      if (featureShape.length != 3 || count == 0) {
        return all;
      }
      int channels = featureShape[0];
      int plane = featureShape[1] * featureShape[2];
      double[] mean = new double[channels];
      double[] std = new double[channels];
      for (int c = 0; c < channels; c++) {
        double s = 0;
        double sq = 0;
        for (int i = c * plane; i < (c + 1) * plane; i++) {
          s += sum[i];
          sq += sumSq[i];
        }
        double n = (double) count * plane;
        mean[c] = s / n;
        std[c] = Math.sqrt(Math.max(0, sq / n - mean[c] * mean[c]));
      }
      return new Manifest.Normalisation(all.mean(), all.std(), all.min(), all.max(), all.featureMean(), all.featureStd(), mean, std);
    }

    Manifest.Normalisation normalisation() {
      int f = sum.length;
      double[] mean = new double[f];
      double[] std = new double[f];
      double total = 0;
      double totalSq = 0;
      for (int i = 0; i < f; i++) {
        mean[i] = sum[i] / count;
        std[i] = Math.sqrt(Math.max(0, sumSq[i] / count - mean[i] * mean[i]));
        total += sum[i];
        totalSq += sumSq[i];
      }
      double n = (double) count * f;
      double gMean = total / n;
      double gStd = Math.sqrt(Math.max(0, totalSq / n - gMean * gMean));
      return new Manifest.Normalisation(gMean, gStd, min, max, mean, std);
    }
  }
}

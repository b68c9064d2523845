package io.graft.jobs.importer;

import io.graft.config.ConfigException;
import io.graft.data.BadRecordPolicy;
import io.graft.data.ImportFormat;
import io.graft.data.image.ImageFit;
import java.util.List;

/**
 * What {@code graft import} converts and how.
 *
 * @param format the raw format
 * @param input raw file (or folder / glob for csv, libsvm, digits-csv); for idx the image file
 * @param labels idx only: the label file (default: the input name with images-idx3 replaced by labels-idx1)
 * @param output the Graft dataset to write (replaced atomically if it exists)
 * @param numClasses class count; 0 infers max(label)+1 (labels at or above a given count are bad records)
 * @param classNames optional names, one per class
 * @param domain optional constant value of the {@code domain} column
 * @param task optional constant value of the {@code task} column
 * @param textDim reviews-json: width of the hashed bag-of-words features
 * @param delimiter csv: the column separator
 * @param header csv: whether the first line of each file is a header
 * @param labelColumn csv: 0-based label column, negative counts from the end (-1: last)
 * @param numFeatures libsvm: the feature width (0 infers the largest index)
 * @param onBadRecord fail on the first bad row (naming file and line) or skip and count
 * @param limit keep at most this many rows (0: all)
 * @param partitions output files / read tasks (0: chosen from the row count)
 * @param resize images only: {@code [height, width]} to resample every image to (bilinear), so
 *     two domains share one input space; empty keeps the size
 * @param pad images only: zero pixels added on every side after resizing (e.g. UCI digits to
 *     20x20 plus 4 gives MNIST's 28x28 layout, a 20x20 digit centred in the frame)
 * @param embeddings reviews-json: word vectors (wink-embeddings JSON) whose mean over a text's
 *     words replaces the hashed bag of words; null for hashing
 * @param embeddingVocab how many of the most frequent words of {@code embeddings} to keep
 * @param images image-folder, image-list, image-table: channels, fit and table columns
 */
public record ImportConfig(
    ImportFormat format,
    String input,
    String labels,
    String output,
    int numClasses,
    List<String> classNames,
    String domain,
    String task,
    int textDim,
    String delimiter,
    boolean header,
    int labelColumn,
    int numFeatures,
    BadRecordPolicy onBadRecord,
    long limit,
    int partitions,
    List<Integer> resize,
    int pad,
    String embeddings,
    int embeddingVocab,
    ImageOptions images) {

  /**
   * How encoded images become rows.
   *
   * @param channels 1 (grey) or 3 (RGB); 0 takes the first image's (grey stays 1, anything else 3)
   * @param fit how --resize treats another aspect ratio
   * @param imageColumn image-table: the binary or image-struct column (null: {@code content}, else {@code image})
   * @param labelColumn image-table: the integer or string label column
   * @param filesPerTask files decoded by one Spark task and written to one Parquet file (0: about 128 MB of rows, at most 5000)
   */
  public record ImageOptions(int channels, ImageFit fit, String imageColumn, String labelColumn, int filesPerTask) {
    public ImageOptions {
      ConfigException.require(channels == 0 || channels == 1 || channels == 3, "--channels must be 1 (grey) or 3 (RGB), cannot be: %s", channels);
      ConfigException.require(filesPerTask >= 0, "--files-per-task must be non-negative (0: about 128 MB of rows a task), cannot be: %s",
          filesPerTask);
      fit = fit == null ? ImageFit.STRETCH : fit;
      labelColumn = labelColumn == null || labelColumn.isBlank() ? "label" : labelColumn;
    }

    public static ImageOptions defaults() {
      return new ImageOptions(0, ImageFit.STRETCH, null, "label", 0);
    }

    boolean isDefault() {
      return equals(defaults());
    }
  }

  public ImportConfig {
    ConfigException.require(format != null, "--format is required (idx, digits-csv, reviews-json, csv, libsvm, image-folder, image-list, image-table)");
    ConfigException.require(input != null && !input.isBlank(), "--input is required");
    ConfigException.require(output != null && !output.isBlank(), "--output is required");
    ConfigException.require(numClasses >= 0, "--num-classes must be non-negative (0: infer), cannot be: %s", numClasses);
    ConfigException.require(classNames == null || classNames.isEmpty() || numClasses == 0 || classNames.size() == numClasses,
        "--class-names lists %s names but --num-classes is %s", classNames == null ? 0 : classNames.size(), numClasses);
    ConfigException.require(textDim >= 2, "--text-dim must be at least 2, cannot be: %s", textDim);
    ConfigException.require(numFeatures >= 0, "--num-features must be non-negative, cannot be: %s", numFeatures);
    ConfigException.require(limit >= 0, "--limit must be non-negative, cannot be: %s", limit);
    ConfigException.require(partitions >= 0, "--partitions must be non-negative, cannot be: %s", partitions);
    ConfigException.require(delimiter != null && !delimiter.isEmpty(), "--delimiter must not be empty");
    ConfigException.require(!input.equals(output), "--output must differ from --input (%s)", input);
    classNames = classNames == null ? List.of() : List.copyOf(classNames);
    resize = resize == null ? List.of() : List.copyOf(resize);
    ConfigException.require(resize.isEmpty() || (resize.size() == 2 && resize.get(0) > 0 && resize.get(1) > 0),
        "--resize must be HEIGHTxWIDTH with positive sizes, cannot be: %s", resize);
    ConfigException.require(resize.isEmpty() || format.images(),
        "--resize applies to image formats (idx, digits-csv, image-folder, image-list, image-table), not %s", format);
    ConfigException.require(pad >= 0, "--pad must be non-negative, cannot be: %s", pad);
    ConfigException.require(pad == 0 || format.images(),
        "--pad applies to image formats (idx, digits-csv, image-folder, image-list, image-table), not %s", format);
    images = images == null ? ImageOptions.defaults() : images;
    ConfigException.require(format.encodedImages() || images.isDefault(),
        "--channels, --fit, --image-column and --files-per-task apply to image-folder, image-list and image-table, not %s", format);
    onBadRecord = onBadRecord == null ? BadRecordPolicy.FAIL : onBadRecord;
    ConfigException.require(embeddings == null || format == ImportFormat.REVIEWS_JSON,
        "--embeddings applies to text (reviews-json), not %s", format);
    ConfigException.require(embeddingVocab >= 1, "--embedding-vocab must be at least 1, cannot be: %s", embeddingVocab);
  }

  /** A config with every optional setting at its default. */
  public static ImportConfig of(ImportFormat format, String input, String output) {
    return new ImportConfig(format, input, null, output, 0, List.of(), null, null, 1024, ",", false, -1, 0, BadRecordPolicy.FAIL, 0, 0, List.of(), 0, null, 100_000, null);
  }

  public ImportConfig withLabels(String labelsUri) {
    return new ImportConfig(format, input, labelsUri, output, numClasses, classNames, domain, task, textDim, delimiter, header,
        labelColumn, numFeatures, onBadRecord, limit, partitions, resize, pad, embeddings, embeddingVocab, images);
  }

  public ImportConfig withClasses(int count, List<String> names) {
    return new ImportConfig(format, input, labels, output, count, names, domain, task, textDim, delimiter, header,
        labelColumn, numFeatures, onBadRecord, limit, partitions, resize, pad, embeddings, embeddingVocab, images);
  }

  public ImportConfig withDomain(String newDomain) {
    return new ImportConfig(format, input, labels, output, numClasses, classNames, newDomain, task, textDim, delimiter, header,
        labelColumn, numFeatures, onBadRecord, limit, partitions, resize, pad, embeddings, embeddingVocab, images);
  }

  public ImportConfig withPolicy(BadRecordPolicy policy) {
    return new ImportConfig(format, input, labels, output, numClasses, classNames, domain, task, textDim, delimiter, header,
        labelColumn, numFeatures, policy, limit, partitions, resize, pad, embeddings, embeddingVocab, images);
  }

  public ImportConfig withLimit(long newLimit) {
    return new ImportConfig(format, input, labels, output, numClasses, classNames, domain, task, textDim, delimiter, header,
        labelColumn, numFeatures, onBadRecord, newLimit, partitions, resize, pad, embeddings, embeddingVocab, images);
  }

  public ImportConfig withResize(int height, int width, int padding) {
    return new ImportConfig(format, input, labels, output, numClasses, classNames, domain, task, textDim, delimiter, header,
        labelColumn, numFeatures, onBadRecord, limit, partitions, List.of(height, width), padding, embeddings, embeddingVocab, images);
  }

  /** The label file of an idx import. */
  public String labelsOrDefault() {
    if (labels != null && !labels.isBlank()) {
      return labels;
    }
    if (!input.contains("images-idx3")) {
      throw new ConfigException("Cannot infer the IDX label file from '" + input + "': pass --labels");
    }
    return input.replace("images-idx3", "labels-idx1");
  }

  public ImportConfig withEmbeddings(String uri, int vocab) {
    return new ImportConfig(format, input, labels, output, numClasses, classNames, domain, task, textDim, delimiter, header,
        labelColumn, numFeatures, onBadRecord, limit, partitions, resize, pad, uri, vocab, images);
  }

  public ImportConfig withImages(ImageOptions options) {
    return new ImportConfig(format, input, labels, output, numClasses, classNames, domain, task, textDim, delimiter, header,
        labelColumn, numFeatures, onBadRecord, limit, partitions, resize, pad, embeddings, embeddingVocab, options);
  }
}

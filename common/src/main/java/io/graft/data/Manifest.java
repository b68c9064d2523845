package io.graft.data;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.graft.store.Storage;
import java.io.IOException;
import java.util.List;
import org.apache.hadoop.fs.Path;

/**
 * The {@code _manifest.json} beside a Graft Parquet dataset: what one row holds and where the
 * data came from. Jobs read it to build and check models before any Spark work starts.
 *
 * <p>Dataset layout: Parquet files with columns {@code features} (array&lt;float&gt;, length
 * {@link #numFeatures}), {@code label} (int, {@code -1} for unlabelled rows) and, when present,
 * {@code domain} (string), {@code task} (string) and {@code text} (string).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record Manifest(
    int formatVersion,
    String format,
    int[] featureShape,
    int numFeatures,
    int numClasses,
    List<String> classNames,
    long rowCount,
    long[] classCounts,
    long unlabelledRows,
    long skippedRows,
    Normalisation normalisation,
    List<Source> sources,
    String domain,
    String task,
    boolean hasText,
    String createdAt,
    ImportRun importRun) {

  public static final String FILE_NAME = "_manifest.json";
  public static final int FORMAT_VERSION = 1;

  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /**
   * Feature statistics over the stored rows (after the importer's scaling); for image datasets
   * ({@code [C, H, W]}) also each channel's mean and standard deviation over all its pixels, the
   * figures a per-channel input normalisation uses.
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Normalisation(double mean, double std, double min, double max, double[] featureMean, double[] featureStd,
      double[] channelMean, double[] channelStd) {
    public Normalisation(double mean, double std, double min, double max, double[] featureMean, double[] featureStd) {
      this(mean, std, min, max, featureMean, featureStd, null, null);
    }
  }

  /**
   * One raw input: where it was, how big, its SHA-256. A folder or list of image files is one
   * source with {@code files} counted and, instead of a content hash (which would read every file
   * twice), a {@code fingerprint}: the sum modulo 2^256 of SHA-256(relative path, length) over its
   * files, computed on the executors. It changes when a file is added, removed, renamed or resized.
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Source(String uri, long bytes, String sha256, Long files, String fingerprint) {
    public Source(String uri, long bytes, String sha256) {
      this(uri, bytes, sha256, null, null);
    }
  }

  /** How long the import took: {@code files} read (image imports; else rows), bytes read, wall seconds. */
  public record ImportRun(long files, long bytes, double seconds, double filesPerSecond, double megabytesPerSecond, String host) {}

  /** This manifest with the import's timing added. */
  public Manifest withImportRun(ImportRun run) {
    return new Manifest(formatVersion, format, featureShape, numFeatures, numClasses, classNames, rowCount, classCounts, unlabelledRows,
        skippedRows, normalisation, sources, domain, task, hasText, createdAt, run);
  }

  public String toJson() {
    try {
      return JSON.writeValueAsString(this);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  public static Manifest fromJson(String json) throws IOException {
    return JSON.readValue(json, Manifest.class);
  }

  /** Reads the manifest of the dataset at {@code dataset}, with a clear error when it is not one. */
  public static Manifest read(Storage storage, Path dataset) {
    Path file = new Path(dataset, FILE_NAME);
    try {
      if (!storage.exists(dataset)) {
        throw new DataException("Dataset not found: " + dataset);
      }
      if (!storage.exists(file)) {
        throw new DataException("Not a Graft dataset: " + dataset + " has no " + FILE_NAME + " (import it with 'graft import')");
      }
      Manifest m = fromJson(storage.readString(file));
      if (m.formatVersion() != FORMAT_VERSION) {
        throw new DataException("Unsupported dataset format version " + m.formatVersion() + " in " + file);
      }
      return m;
    } catch (DataException e) {
      throw e;
    } catch (IOException e) {
      throw new DataException("Cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  public void write(Storage storage, Path dataset) throws IOException {
    storage.writeString(new Path(dataset, FILE_NAME), toJson());
  }
}

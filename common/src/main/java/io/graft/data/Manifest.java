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
    String createdAt) {

  public static final String FILE_NAME = "_manifest.json";
  public static final int FORMAT_VERSION = 1;

  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /** Feature statistics over the stored rows (after the importer's scaling). */
  public record Normalisation(double mean, double std, double min, double max, double[] featureMean, double[] featureStd) {}

  /** One raw input: where it was, how big, its SHA-256. */
  public record Source(String uri, long bytes, String sha256) {}

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

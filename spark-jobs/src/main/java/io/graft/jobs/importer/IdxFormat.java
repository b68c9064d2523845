package io.graft.jobs.importer;

import io.graft.data.Example;
import io.graft.data.IdxReader;
import io.graft.store.SerializableConf;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.function.FlatMapFunction;

/**
 * An IDX image file and its label file (MNIST, Fashion-MNIST), raw or gzip: the driver reads
 * the headers, the executors read ranges of {@value #RECORDS_PER_TASK} records each.
 */
final class IdxFormat implements FormatReader {
  static final int RECORDS_PER_TASK = 10_000;

  @Override
  public Rows read(Input in) throws IOException {
    Path images = in.files().get(0);
    Path labels = in.files().get(1);
    IdxReader.Pair headers = IdxReader.inspect(in.storage(), images, labels);
    int[] shape = headers.images().recordShape();
    int n = headers.images().count();
    List<int[]> ranges = new ArrayList<>();
    for (int s = 0; s < n; s += RECORDS_PER_TASK) {
      ranges.add(new int[] {s, Math.min(n, s + RECORDS_PER_TASK)});
    }
    return new Rows(shape.length == 2 ? new int[] {1, shape[0], shape[1]} : shape,
        in.jsc().parallelize(ranges, ranges.size()).flatMap(new ReadRange(in.conf(), images.toString(), labels.toString(), headers)), false);
  }

  /** Reads one range of an IDX pair on an executor, pixels scaled from 0-255 to [0, 1]. */
  static final class ReadRange implements FlatMapFunction<int[], Parsed> {
    private final SerializableConf conf;
    private final String images;
    private final String labels;
    private final IdxReader.Pair headers;

    ReadRange(SerializableConf conf, String images, String labels, IdxReader.Pair headers) {
      this.conf = conf;
      this.images = images;
      this.labels = labels;
      this.headers = headers;
    }

    @Override
    public Iterator<Parsed> call(int[] range) throws IOException {
      List<Parsed> out = new ArrayList<>(range[1] - range[0]);
      String name = new Path(labels).getName();
      int index = range[0];
      for (Example e : IdxReader.read(conf.storage(), new Path(images), new Path(labels), headers, range[0], range[1], 255f)) {
        out.add(Parsed.ok(e, name + " record " + index++));
      }
      return out.iterator();
    }
  }
}

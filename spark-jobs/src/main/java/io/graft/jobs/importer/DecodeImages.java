package io.graft.jobs.importer;

import io.graft.data.BadRecordException;
import io.graft.data.BadRecordPolicy;
import io.graft.data.image.ImageDecoder;
import io.graft.data.image.ImageSpec;
import io.graft.jobs.importer.ImageSources.Ref;
import io.graft.jobs.importer.ImageSources.TableColumns;
import io.graft.store.SerializableConf;
import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;

/**
 * The executor side of an image import: reads and decodes files (or table cells) into Graft rows,
 * counting files and bytes for the progress line and the manifest. A bad image either stops the
 * job ({@link BadImage}, under {@code --on-bad-record fail}) or is dropped, the first one kept for
 * the log.
 */
final class DecodeImages implements Serializable {
  /** A bad image under --on-bad-record fail: it stops the Spark job and names the file. */
  static final class BadImage extends RuntimeException {
    BadImage(String message) {
      super(message);
    }
  }

  private final SerializableConf conf;
  private final ImageSpec spec;
  private final int numClasses;
  private final BadRecordPolicy policy;
  private final String domain;
  private final String task;
  private final TableColumns columns;
  private final List<String> labelNames;
  private final LongAccumulator done;
  private final LongAccumulator bytes;
  private final CollectionAccumulator<String> firstBad;

  DecodeImages(SerializableConf conf, ImageSpec spec, int numClasses, BadRecordPolicy policy, String domain, String task, TableColumns columns,
      List<String> labelNames, LongAccumulator done, LongAccumulator bytes, CollectionAccumulator<String> firstBad) {
    this.conf = conf;
    this.spec = spec;
    this.numClasses = numClasses;
    this.policy = policy;
    this.domain = domain;
    this.task = task;
    this.columns = columns;
    this.labelNames = labelNames;
    this.done = done;
    this.bytes = bytes;
    this.firstBad = firstBad;
  }

  FlatMapFunction<Iterator<Ref>, Row> files() {
    return refs -> {
      List<Row> out = new ArrayList<>();
      boolean reported = false;
      while (refs.hasNext()) {
        Ref r = refs.next();
        try {
          if (r.error() != null) {
            throw new BadRecordException(r.location(), r.error());
          }
          byte[] data;
          try {
            data = ImageSources.readFile(conf, r.uri(), r.bytes());
          } catch (IOException e) {
            throw new BadRecordException(r.location(), "cannot read " + r.uri() + ": " + e.getMessage());
          }
          bytes.add(data.length);
          out.add(row(ImageDecoder.decode(data, spec, r.location()), r.label(), r.location()));
        } catch (BadRecordException e) {
          reported = bad(e, reported);
        } finally {
          done.add(1);
        }
      }
      return out.iterator();
    };
  }

  Function2<Integer, Iterator<Row>, Iterator<Row>> rows() {
    return (partition, in) -> {
      List<Row> out = new ArrayList<>();
      boolean reported = false;
      long index = 0;
      while (in.hasNext()) {
        Row row = in.next();
        String where = columns.location(row, index++) + (columns.path() == null && !columns.struct() ? " of part " + partition : "");
        try {
          if (!columns.struct() && row.getAs(columns.image()) instanceof byte[] b) {
            bytes.add(b.length);
          }
          Object label = row.getAs(columns.label());
          if (label == null) {
            throw new BadRecordException(where, "no label (null)");
          }
          int l = labelNames != null ? labelNames.indexOf(label.toString()) : ((Number) label).intValue();
          if (labelNames != null && l < 0) {
            throw new BadRecordException(where, "label '" + label + "' is not one of the classes " + labelNames);
          }
          out.add(row(ImageDecoder.fit(columns.pixels(row, where), spec, where), l, where));
        } catch (BadRecordException e) {
          reported = bad(e, reported);
        } finally {
          done.add(1);
        }
      }
      return out.iterator();
    };
  }

  private Row row(float[] features, int label, String location) throws BadRecordException {
    if (features.length != spec.channels() * spec.height() * spec.width()) {
      throw new BadRecordException(location, "image is " + (features.length / spec.channels()) + " pixels, expected " + spec.height() + "x"
          + spec.width() + " (pass --resize to bring every image to one size)");
    }
    if (label < 0 || (numClasses > 0 && label >= numClasses)) {
      throw new BadRecordException(location, "label " + label + " is outside the " + numClasses + " classes [0, " + numClasses + ")");
    }
    return RowFactory.create(features, label, domain, task, null);
  }

  private boolean bad(BadRecordException e, boolean reported) {
    if (policy == BadRecordPolicy.FAIL) {
      throw new BadImage(e.getMessage());
    }
    if (!reported) {
      firstBad.add(e.getMessage());
    }
    return true;
  }
}

package io.graft.jobs.importer;

import io.graft.data.BadRecordException;
import io.graft.data.RowParsers;
import io.graft.store.Storage;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.LongWritable;
import org.apache.hadoop.io.Text;
import org.apache.hadoop.mapreduce.InputSplit;
import org.apache.hadoop.mapreduce.lib.input.FileSplit;
import org.apache.hadoop.mapreduce.lib.input.TextInputFormat;
import org.apache.spark.api.java.JavaNewHadoopRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.api.java.function.Function2;
import scala.Tuple2;

/**
 * Text input read distributed, each line with where it came from, and the line formats
 * (optdigits CSV, CSV, LIBSVM) parsed by a {@link RowParsers.LineParser} on the executors.
 */
final class TextLines {
  private TextLines() {}

  /** A line of text and where it came from ("file:line" or "file@byte"). */
  record Line(String text, String location) implements Serializable {}

  /** Reads text lines with their locations; gzip files are decompressed by Hadoop's codecs. */
  @SuppressWarnings("unchecked")
  static JavaRDD<Line> lines(JavaSparkContext jsc, String input, boolean header) {
    JavaNewHadoopRDD<LongWritable, Text> raw = (JavaNewHadoopRDD<LongWritable, Text>) jsc.newAPIHadoopFile(
        input, TextInputFormat.class, LongWritable.class, Text.class, jsc.hadoopConfiguration());
    return raw.mapPartitionsWithInputSplit(new WithLocations(header), true).filter(l -> !l.text().isBlank());
  }

  /** The first non-blank line of a text file after its header line, if it has one; null when there is none. */
  static String firstDataLine(Storage storage, Path file, boolean header) throws IOException {
    try (BufferedReader r = new BufferedReader(new InputStreamReader(storage.open(file), StandardCharsets.UTF_8))) {
      String line = r.readLine();
      if (header && line != null) {
        line = r.readLine();
      }
      while (line != null && line.isBlank()) {
        line = r.readLine();
      }
      return line;
    }
  }

  /** A line format: every line of the input parsed by one parser. */
  static FormatReader.Rows parse(FormatReader.Input in, RowParsers.LineParser parser, boolean header) {
    return new FormatReader.Rows(parser.featureShape(), lines(in.jsc(), in.config().input(), header).map(new ParseLine(parser)), false);
  }

  static final class WithLocations implements Function2<InputSplit, Iterator<Tuple2<LongWritable, Text>>, Iterator<Line>> {
    private final boolean header;

    WithLocations(boolean header) {
      this.header = header;
    }

    @Override
    public Iterator<Line> call(InputSplit split, Iterator<Tuple2<LongWritable, Text>> it) {
      FileSplit fs = (FileSplit) split;
      String name = fs.getPath().getName();
      boolean fromStart = fs.getStart() == 0;
      List<Line> out = new ArrayList<>();
      long lineNo = 0;
      while (it.hasNext()) {
        Tuple2<LongWritable, Text> t = it.next();
        lineNo++;
        if (header && fromStart && lineNo == 1) {
          continue;
        }
        String location = fromStart ? name + ":" + lineNo : name + "@byte " + t._1().get();
        out.add(new Line(t._2().toString(), location));
      }
      return out.iterator();
    }
  }

  static final class ParseLine implements Function<Line, Parsed> {
    private final RowParsers.LineParser parser;

    ParseLine(RowParsers.LineParser parser) {
      this.parser = parser;
    }

    @Override
    public Parsed call(Line line) {
      try {
        return Parsed.ok(parser.parse(line.text(), line.location()), line.location());
      } catch (BadRecordException e) {
        return Parsed.bad(e.getMessage());
      }
    }
  }
}

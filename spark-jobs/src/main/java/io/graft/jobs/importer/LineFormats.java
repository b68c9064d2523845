package io.graft.jobs.importer;

import io.graft.config.ConfigException;
import io.graft.data.DataException;
import io.graft.data.RowParsers;
import java.io.IOException;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;

/** The text line formats: UCI optdigits CSV, numeric CSV and LIBSVM. */
final class LineFormats {
  private LineFormats() {}

  /** UCI optdigits as scikit-learn ships it: 64 integers 0-16, then the label. */
  static final FormatReader DIGITS_CSV = in -> TextLines.parse(in, new RowParsers.DigitsCsv(), false);

  /** Numeric CSV: its width is read from the first data line of the first file. */
  static final FormatReader CSV = in -> {
    int width = csvWidth(in, in.files().get(0));
    return TextLines.parse(in, new RowParsers.Csv(in.config().delimiter(), in.config().labelColumn(), width), in.config().header());
  };

  /** LIBSVM: the width is {@code --num-features}, or the largest index found in a pass over the input. */
  static final FormatReader LIBSVM = in -> {
    int width = in.config().numFeatures();
    if (width == 0) {
      JavaRDD<TextLines.Line> lines = TextLines.lines(in.jsc(), in.config().input(), false);
      width = lines.map(l -> RowParsers.LibSvm.maxIndex(l.text())).fold(0, Math::max);
      ConfigException.require(width > 0, "Cannot infer the LIBSVM feature width of %s: no index:value entries (pass --num-features)",
          in.config().input());
      in.log().accept("libsvm: inferred " + width + " features from the largest index");
    }
    return TextLines.parse(in, new RowParsers.LibSvm(width), false);
  };

  /** The width of a CSV from its first data line (label column excluded). */
  private static int csvWidth(FormatReader.Input in, Path file) throws IOException {
    String line = TextLines.firstDataLine(in.storage(), file, in.config().header());
    if (line == null) {
      throw new DataException("CSV input " + file + " has no data lines");
    }
    String delimiter = in.config().delimiter();
    int columns = line.split(Pattern.quote(delimiter), -1).length;
    if (columns < 2) {
      throw new DataException("CSV input " + file + " line 1 has " + columns + " column(s); need features and a label (--delimiter is '"
          + delimiter + "')");
    }
    return columns - 1;
  }
}

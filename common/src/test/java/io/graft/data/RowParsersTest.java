package io.graft.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.graft.testing.TestData;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.util.zip.GZIPInputStream;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

class RowParsersTest {
  private static String firstDigitsLine() throws Exception {
    try (BufferedReader r = new BufferedReader(new InputStreamReader(
        new GZIPInputStream(Files.newInputStream(TestData.raw("digits").resolve("digits.csv.gz")))))) {
      return r.readLine();
    }
  }

  @Test
  void digitsRowScalesPixelsToUnitRange() throws Exception {
    Example e = new RowParsers.DigitsCsv().parse(firstDigitsLine(), "digits.csv.gz:1");
    assertThat(e.label()).isZero();
    assertThat(e.features()).hasSize(64);
    assertThat(e.features()[2]).isEqualTo(5f / 16f);
  }

  @Test
  void digitsRowWithAFractionalLabelIsBad() throws Exception {
    String line = firstDigitsLine().replaceAll(",0$", ",2.5");
    assertThatThrownBy(() -> new RowParsers.DigitsCsv().parse(line, "digits.csv.gz:1"))
        .isInstanceOf(BadRecordException.class)
        .hasMessage("digits.csv.gz:1: label '2.5' is not a non-negative integer");
  }

  @Test
  void libsvmRoundTripOfARealDigitsRow() throws Exception {
    Example dense = new RowParsers.DigitsCsv().parse(firstDigitsLine(), "x");
    StringBuilder sb = new StringBuilder().append(dense.label());
    for (int i = 0; i < 64; i++) {
      if (dense.features()[i] != 0) {
        sb.append(' ').append(i + 1).append(':').append(dense.features()[i]);
      }
    }
    Example sparse = new RowParsers.LibSvm(64).parse(sb.toString(), "x");
    assertThat(sparse.features()).containsExactly(dense.features());
    assertThat(RowParsers.LibSvm.maxIndex(sb.toString())).isLessThanOrEqualTo(64);
    assertThatThrownBy(() -> new RowParsers.LibSvm(64).parse("1 3:0.5 2:0.1", "f.svm:9"))
        .hasMessage("f.svm:9: indices must be 1-based and increasing, found 2 after 3");
  }

  @Test
  void csvCountsColumnsAndRejectsText() {
    RowParsers.Csv csv = new RowParsers.Csv(",", -1, 3);
    assertThatThrownBy(() -> csv.parse("1,2,3", "t.csv:4")).hasMessage("t.csv:4: expected 4 columns, found 3");
    assertThatThrownBy(() -> csv.parse("1,x,3,0", "t.csv:5")).hasMessage("t.csv:5: column 1 'x' is not a number");
  }

  @Test
  void textHashingIsStableAndNormalised() {
    TextHashing h = new TextHashing(64);
    float[] a = h.features("A great, great movie");
    float[] b = h.features("a GREAT movie great");
    assertThat(a).containsExactly(b);
    double norm = 0;
    for (float v : a) {
      norm += v * v;
    }
    assertThat(norm).isCloseTo(1.0, Offset.offset(1e-5));
  }
}

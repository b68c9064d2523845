package io.graft.data.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.graft.data.BadRecordException;
import io.graft.data.Example;
import io.graft.data.IdxReader;
import io.graft.data.image.ImageEncoder.Encoding;
import io.graft.store.Storage;
import io.graft.testing.TestData;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Decoding real MNIST digits written in every encoding Graft reads, against the IDX pixels. */
class ImageDecoderTest {
  static final ImageSpec GREY28 = new ImageSpec(1, 28, 28, ImageFit.STRETCH, false);
  static List<Example> digits;

  @BeforeAll
  static void readDigits() throws Exception {
    Storage storage = new Storage(new Configuration());
    java.nio.file.Path raw = TestData.raw("mnist");
    Path images = new Path(raw.resolve("t10k-images-idx3-ubyte").toUri());
    Path labels = new Path(raw.resolve("t10k-labels-idx1-ubyte").toUri());
    digits = IdxReader.read(storage, images, labels, IdxReader.inspect(storage, images, labels), 0, 20, 255f);
  }

  static double meanAbs(float[] a, float[] b) {
    assertThat(a).hasSameSizeAs(b);
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += Math.abs(a[i] - b[i]);
    }
    return s / a.length;
  }

  static double maxAbs(float[] a, float[] b) {
    double m = 0;
    for (int i = 0; i < a.length; i++) {
      m = Math.max(m, Math.abs(a[i] - b[i]));
    }
    return m;
  }

  @Test
  void losslessEncodingsGiveTheIdxPixelsBack() throws Exception {
    for (Encoding e : Encoding.values()) {
      if (!e.lossless()) {
        continue;
      }
      for (Example d : digits) {
        float[] back = ImageDecoder.decode(ImageEncoder.encode(d.features(), 1, 28, 28, e), GREY28, "digit." + e.extension());
        assertThat(maxAbs(back, d.features())).as(e.toString()).isLessThan(1e-6);
      }
    }
  }

  @Test
  void jpegsAreWithinTheCodecsErrorAndExifOrientationIsApplied() throws Exception {
    for (Encoding e : List.of(Encoding.JPEG, Encoding.JPEG_PROGRESSIVE, Encoding.JPEG_EXIF_ROTATED)) {
      for (Example d : digits) {
        byte[] file = ImageEncoder.encode(d.features(), 1, 28, 28, e);
        assertThat(meanAbs(ImageDecoder.decode(file, GREY28, "d.jpg"), d.features())).as(e.toString()).isLessThan(0.02);
      }
    }
    byte[] rotated = ImageEncoder.encode(digits.get(0).features(), 1, 28, 28, Encoding.JPEG_EXIF_ROTATED);
    assertThat(ImageDecoder.exifOrientation(rotated)).isEqualTo(6);
    // without the orientation the stored pixels are the digit turned on its side: far from it
    ImageDecoder.Pixels stored = ImageDecoder.orient(ImageDecoder.read(rotated, "d.jpg"), 8);
    assertThat(meanAbs(stored.values(), digits.get(0).features())).isGreaterThan(0.1);
  }

  @Test
  void everyOrientationUndoesItsOwnTransform() {
    float[] v = new float[6];
    for (int i = 0; i < v.length; i++) {
      v[i] = i;
    }
    ImageDecoder.Pixels p = new ImageDecoder.Pixels(v, 1, 2, 3);
    int[] inverse = {0, 1, 2, 3, 4, 5, 8, 7, 6};
    for (int o = 2; o <= 8; o++) {
      ImageDecoder.Pixels shown = ImageDecoder.orient(p, o);
      assertThat(ImageDecoder.orient(shown, inverse[o]).values()).as("orientation " + o).containsExactly(v);
    }
    // 6: rotate 90 degrees clockwise -> the bottom-left pixel comes to the top-left
    assertThat(ImageDecoder.orient(p, 6).values()).containsExactly(3, 0, 4, 1, 5, 2);
  }

  @Test
  void channelsConvertByLuminanceAndRepetition() throws Exception {
    float[] red = new float[3 * 4];
    Arrays.fill(red, 0, 4, 1f);
    byte[] png = ImageEncoder.encode(red, 3, 2, 2, Encoding.PNG_RGB);
    assertThat(ImageDecoder.decode(png, new ImageSpec(1, 2, 2, null, false), "red.png")).containsOnly(0.299f);
    float[] rgb = ImageDecoder.decode(png, new ImageSpec(3, 2, 2, null, false), "red.png");
    assertThat(rgb).containsExactly(red);
    float[] grey = ImageDecoder.decode(ImageEncoder.encode(digits.get(1).features(), 1, 28, 28, Encoding.PNG), new ImageSpec(3, 28, 28, null,
        false), "g.png");
    for (int c = 0; c < 3; c++) {
      assertThat(Arrays.copyOfRange(grey, c * 784, (c + 1) * 784)).containsExactly(digits.get(1).features());
    }
  }

  @Test
  void fitCropsOrLetterboxesAnotherAspectRatio() throws Exception {
    // 2 rows x 4 columns: left half 1, right half 0
    float[] wide = {1, 1, 0, 0, 1, 1, 0, 0};
    ImageDecoder.Pixels p = new ImageDecoder.Pixels(wide, 1, 2, 4);
    assertThat(ImageDecoder.fit(p, new ImageSpec(1, 4, 4, ImageFit.PAD, true), "w")).containsExactly(
        0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0);
    assertThat(ImageDecoder.fit(p, new ImageSpec(1, 2, 2, ImageFit.CROP, true), "w")).containsExactly(1, 0, 1, 0);
    assertThat(ImageDecoder.fit(p, new ImageSpec(1, 2, 2, ImageFit.STRETCH, true), "w")).containsExactly(1, 0, 1, 0);
    assertThatThrownBy(() -> ImageDecoder.fit(p, new ImageSpec(1, 4, 4, ImageFit.STRETCH, false), "a/wide.png"))
        .hasMessage("a/wide.png: image is 2x4, the dataset's images are 4x4 (pass --resize HxW to bring every image to one size)");
  }

  @Test
  void badFilesAreNamedBadRecords() {
    byte[] png = ImageEncoder.encode(digits.get(0).features(), 1, 28, 28, Encoding.PNG);
    assertThatThrownBy(() -> ImageDecoder.decode(Arrays.copyOf(png, png.length / 2), GREY28, "7/cut.png"))
        .isInstanceOf(BadRecordException.class).hasMessageStartingWith("7/cut.png: cannot decode image: ");
    assertThatThrownBy(() -> ImageDecoder.decode(new byte[0], GREY28, "7/empty.png")).hasMessage("7/empty.png: empty file");
    assertThatThrownBy(() -> ImageDecoder.decode("hello".getBytes(StandardCharsets.UTF_8), GREY28, "7/notes.png"))
        .hasMessage("7/notes.png: not a recognised image (PNG, JPEG, GIF or BMP)");
  }
}

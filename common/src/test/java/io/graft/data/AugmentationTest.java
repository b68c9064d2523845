package io.graft.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.graft.store.Storage;
import io.graft.testing.TestData;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

class AugmentationTest {
  private static float[] firstMnistDigit() throws Exception {
    Storage s = new Storage(new Configuration());
    Path img = new Path(TestData.raw("mnist").resolve("t10k-images-idx3-ubyte").toUri());
    Path lab = new Path(TestData.raw("mnist").resolve("t10k-labels-idx1-ubyte").toUri());
    return IdxReader.read(s, img, lab, IdxReader.inspect(s, img, lab), 0, 1, 255f).get(0).features();
  }

  @Test
  void aShiftMovesEveryPixelByTheDrawnOffset() throws Exception {
    float[] x = firstMnistDigit();
    Augmentation shiftOnly = new Augmentation(2, 0.0, 0.0);
    Random rng = new Random(3);
    float[] y = shiftOnly.apply(x, 1, 28, 28, rng);
    Random replay = new Random(3);
    int dx = replay.nextInt(5) - 2;
    int dy = replay.nextInt(5) - 2;
    for (int r = 2; r < 26; r++) {
      for (int c = 2; c < 26; c++) {
        int sr = r - dy;
        int sc = c - dx;
        assertThat(y[r * 28 + c]).isCloseTo(x[sr * 28 + sc], Offset.offset(1e-5f));
      }
    }
  }

  @Test
  void rotationAndNoiseStayInRangeAndKeepTheInkMass() throws Exception {
    float[] x = firstMnistDigit();
    float[] y = new Augmentation(0, 15.0, 0.05).apply(x, 1, 28, 28, new Random(1));
    double before = 0;
    double after = 0;
    for (int i = 0; i < x.length; i++) {
      assertThat(y[i]).isBetween(0f, 1f);
      before += x[i];
      after += y[i];
    }
    assertThat(after / before).isBetween(0.8, 1.3);
    assertThatThrownBy(() -> new Augmentation(-1, 0.0, 0.0)).hasMessage("augmentation.shift must be non-negative, cannot be: -1");
  }

  @Test
  void aCropZoomsInAndContrastStretchesAboutTheMean() throws Exception {
    float[] x = firstMnistDigit();
    double ink = 0;
    for (float v : x) {
      ink += v;
    }
    // crops keep 30-100 % of the area and blow it up to 28x28: the digit covers more of the frame on average
    double zoomed = 0;
    for (int s = 0; s < 50; s++) {
      for (float v : new Augmentation(0, 0.0, 0.0, 0.3, 0.0).apply(x, 1, 28, 28, new Random(s))) {
        zoomed += v;
      }
    }
    assertThat(zoomed / 50 / ink).isGreaterThan(1.1);
    // crop 1 keeps the whole frame: exactly the input
    assertThat(new Augmentation(0, 0.0, 0.0, 1.0, 0.0).apply(x, 1, 28, 28, new Random(1))).containsExactly(x);
    float[] flat = new float[] {0.2f, 0.4f, 0.6f, 0.8f};
    float[] c = new Augmentation(0, 0.0, 0.0, 0.0, 0.5).apply(flat, 1, 2, 2, new Random(5));
    double factor = (c[3] - c[0]) / 0.6;
    assertThat(factor).isBetween(0.5, 1.5).isNotCloseTo(1.0, Offset.offset(1e-6));
    assertThat((c[0] + c[1] + c[2] + c[3]) / 4).isCloseTo(0.5f, Offset.offset(1e-5f));
    assertThatThrownBy(() -> new Augmentation(0, 0.0, 0.0, 1.5, 0.0))
        .hasMessage("augmentation.crop must be in [0, 1] (the smallest share of the area kept), cannot be: 1.5");
  }

  @Test
  void flipMirrorsAndColourJitterChangesOnlyWhatItNames() throws Exception {
    float[] x = firstMnistDigit();
    float[] flipped = new Augmentation(0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0).apply(x, 1, 28, 28, new Random(1));
    for (int r = 0; r < 28; r++) {
      for (int c = 0; c < 28; c++) {
        assertThat(flipped[r * 28 + c]).isCloseTo(x[r * 28 + 27 - c], Offset.offset(1e-6f));
      }
    }
    // a colour image: red ink on a grey background
    int plane = 4;
    float[] rgb = {0.9f, 0.5f, 0.5f, 0.5f, 0.1f, 0.5f, 0.5f, 0.5f, 0.1f, 0.5f, 0.5f, 0.5f};
    float[] grey = rgb.clone();
    Augmentation.saturate(grey, plane, 0.0);
    double luma = 0.299 * 0.9 + 0.587 * 0.1 + 0.114 * 0.1;
    assertThat(grey[0]).isCloseTo((float) luma, Offset.offset(1e-6f));
    assertThat(grey[plane]).isEqualTo(grey[0]);
    assertThat(grey[2 * plane]).isEqualTo(grey[0]);
    float[] turned = rgb.clone();
    Augmentation.rotateHue(turned, plane, Math.PI / 2);
    double turnedLuma = 0.299 * turned[0] + 0.587 * turned[plane] + 0.114 * turned[2 * plane];
    assertThat(turnedLuma).isCloseTo(luma, Offset.offset(2e-3));
    assertThat(turned[0]).isLessThan(0.6f); // the red is no longer red
    assertThat(turned[1]).isCloseTo(0.5f, Offset.offset(2e-3f)); // grey stays grey
    float[] brighter = new Augmentation(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0).apply(rgb, 3, 2, 2, new Random(2));
    float factor = brighter[1] / rgb[1];
    for (int i = 0; i < rgb.length; i++) {
      assertThat(brighter[i]).isCloseTo(Math.min(1f, rgb[i] * factor), Offset.offset(1e-5f));
    }
    assertThat(factor).isNotCloseTo(1f, Offset.offset(1e-3f));
    assertThatThrownBy(() -> new Augmentation(0, 0.0, 0.0, 0.0, 0.0, 1.5, 0.0, 0.0, 0.0))
        .hasMessage("augmentation.flip must be a probability in [0, 1], cannot be: 1.5");
    assertThatThrownBy(() -> new Augmentation(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.7))
        .hasMessage("augmentation.hue must be in [0, 0.5] (a share of a full turn), cannot be: 0.7");
  }
}

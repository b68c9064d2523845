package io.graft.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.graft.store.Storage;
import io.graft.testing.TestData;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
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
        assertThat(y[r * 28 + c]).isCloseTo(x[sr * 28 + sc], org.assertj.core.data.Offset.offset(1e-5f));
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
    assertThat(factor).isBetween(0.5, 1.5).isNotCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-6));
    assertThat((c[0] + c[1] + c[2] + c[3]) / 4).isCloseTo(0.5f, org.assertj.core.data.Offset.offset(1e-5f));
    assertThatThrownBy(() -> new Augmentation(0, 0.0, 0.0, 1.5, 0.0))
        .hasMessage("augmentation.crop must be in [0, 1] (the smallest share of the area kept), cannot be: 1.5");
  }
}

package io.graft.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class ImageResizeTest {
  @Test
  void aConstantImageStaysConstantAtAnySize() {
    float[] img = new float[64];
    Arrays.fill(img, 0.25f);
    for (float v : ImageResize.bilinear(img, 1, 8, 8, 28, 28)) {
      assertThat(v).isEqualTo(0.25f);
    }
  }

  @Test
  void upsamplingInterpolatesBetweenPixelCentres() {
    // 1x2 image [0, 1] to 1x4: centres at -0.25, 0.25, 0.75, 1.25 of the source -> clamped 0, 0.25, 0.75, 1.
    float[] out = ImageResize.bilinear(new float[] {0f, 1f}, 1, 1, 2, 1, 4);
    assertThat(out[0]).isCloseTo(0f, within(1e-6f));
    assertThat(out[1]).isCloseTo(0.25f, within(1e-6f));
    assertThat(out[2]).isCloseTo(0.75f, within(1e-6f));
    assertThat(out[3]).isCloseTo(1f, within(1e-6f));
  }

  @Test
  void aDigitKeepsItsMassCentreWhenUpsampled() {
    float[] img = new float[64];
    img[2 * 8 + 5] = 1f; // one bright pixel at row 2, column 5
    float[] out = ImageResize.bilinear(img, 1, 8, 8, 28, 28);
    double sum = 0;
    double cy = 0;
    double cx = 0;
    for (int y = 0; y < 28; y++) {
      for (int x = 0; x < 28; x++) {
        sum += out[y * 28 + x];
        cy += y * out[y * 28 + x];
        cx += x * out[y * 28 + x];
      }
    }
    assertThat((cy / sum + 0.5) * 8 / 28 - 0.5).isCloseTo(2.0, within(0.05));
    assertThat((cx / sum + 0.5) * 8 / 28 - 0.5).isCloseTo(5.0, within(0.05));
  }

  @Test
  void paddingCentresTheImageInAZeroFrame() {
    float[] out = ImageResize.pad(new float[] {1, 2, 3, 4}, 1, 2, 2, 1);
    assertThat(out).containsExactly(0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0);
  }

  @Test
  void aWrongSizedImageIsRefused() {
    assertThatThrownBy(() -> ImageResize.bilinear(new float[10], 1, 8, 8, 28, 28)).hasMessage("Image has 10 values, expected 1x8x8");
  }
}

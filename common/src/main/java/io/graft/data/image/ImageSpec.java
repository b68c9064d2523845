package io.graft.data.image;

import io.graft.config.ConfigException;
import java.io.Serializable;

/**
 * The shape every decoded image is brought to: {@code channels} (1 grey or 3 RGB) and
 * {@code height} x {@code width}. With {@code resize} an image of another size is brought to it by
 * {@code fit}; without, it is refused (a dataset of mixed sizes needs an explicit --resize).
 */
public record ImageSpec(int channels, int height, int width, ImageFit fit, boolean resize) implements Serializable {
  public ImageSpec {
    ConfigException.require(channels == 1 || channels == 3, "--channels must be 1 (grey) or 3 (RGB), cannot be: %s", channels);
    ConfigException.require(height > 0 && width > 0, "image size must be HEIGHTxWIDTH with positive sizes, cannot be: %sx%s", height, width);
    fit = fit == null ? ImageFit.STRETCH : fit;
  }

  public int[] featureShape() {
    return new int[] {channels, height, width};
  }
}

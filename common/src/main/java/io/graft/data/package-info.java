/**
 * Graft's data model and the raw formats it imports. An imported row is an
 * {@link io.graft.data.Example} (flat float features, an integer label, optional text); a dataset
 * is Parquet described by its {@link io.graft.data.Manifest}. The raw readers
 * ({@link io.graft.data.IdxReader}, {@link io.graft.data.RowParsers}), the text featurizers
 * ({@link io.graft.data.TextHashing}, {@link io.graft.data.WordEmbeddings}) and
 * {@link io.graft.data.Augmentation} give the same result on every executor, so Spark runs them
 * there, but the package itself does not depend on Spark. {@link io.graft.data.BadRecordPolicy}
 * says whether a row that cannot be used stops the work or is skipped and counted.
 */
package io.graft.data;

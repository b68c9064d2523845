package io.graft.jobs.importer;

import io.graft.store.SerializableConf;
import io.graft.store.Storage;
import java.io.IOException;
import java.util.List;
import java.util.function.Consumer;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * How {@code graft import} reads one raw format into parsed rows; {@link ImportJob} then checks,
 * resizes, counts and writes them the same way for every format. A row a reader cannot parse is
 * a {@link Parsed#bad} naming its file and line, never an exception.
 */
interface FormatReader {
  /** What a reader is given: the import's settings and its raw files, already validated. */
  record Input(ImportConfig config, Storage storage, JavaSparkContext jsc, SerializableConf conf, List<Path> files, Consumer<String> log) {}

  /** The parsed rows (lazy: parsed on the executors), every row of shape {@code featureShape}. */
  record Rows(int[] featureShape, JavaRDD<Parsed> parsed, boolean hasText) {}

  Rows read(Input in) throws IOException;
}

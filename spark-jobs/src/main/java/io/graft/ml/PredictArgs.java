package io.graft.ml;

import io.graft.config.Input;
import io.graft.jobs.JobArgs;
import picocli.CommandLine.Option;

/** The options of {@code graft predict} (a pipeline stage's {@code args}). */
public final class PredictArgs implements JobArgs<PredictJob.Request> {
  @Option(names = "--model", required = true, paramLabel = "MODEL")
  @Input String model;
  @Option(names = "--data", required = true, paramLabel = "URI", description = "Parquet with a features column.")
  @Input String data;
  @Option(names = "--out", required = true, paramLabel = "URI", description = "Output Parquet folder (written atomically).")
  String out;
  @Option(names = "--features-col", defaultValue = "features")
  String featuresCol;
  @Option(names = "--embedding-layer", paramLabel = "NAME", description = "Also output this layer's activations as 'embedding'.")
  String embeddingLayer;
  @Option(names = "--overwrite", description = "Replace an existing output.")
  boolean overwrite;

  @Override
  public PredictJob.Request config() {
    return new PredictJob.Request(model, data, out, featuresCol, embeddingLayer, overwrite);
  }
}

package io.graft.cli;

import io.graft.jobs.importer.ModelImportJob;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "import-model", mixinStandardHelpOptions = true,
    description = {"Imports a model trained elsewhere (ONNX, e.g. from PyTorch) as a Graft model folder: a trainable DL4J graph any",
        "Graft job reads, with provenance (source checksum, producer, opset, input normalisation, node-to-vertex mapping). No Spark."})
final class ImportModelCommand implements Callable<Integer> {
  @Mixin
  ModelImportJob.Args options;

  @Override
  public Integer call() throws Exception {
    return ModelImportJob.JOB.launch(options, null);
  }
}

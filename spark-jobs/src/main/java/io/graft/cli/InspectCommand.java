package io.graft.cli;

import io.graft.store.Storage;
import io.graft.surgery.GraphSurgery;
import io.graft.surgery.Graphs;
import io.graft.surgery.Surgery;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "inspect", mixinStandardHelpOptions = true,
    description = "List a model's layers with their shapes, parameter counts and frozen state (a Graft model folder, a DL4J zip, or zoo:NAME).")
final class InspectCommand implements Callable<Integer> {
  @Parameters(paramLabel = "MODEL", description = "Model folder or zip (any Hadoop URI), or a zoo architecture (zoo:resnet50).")
  String model;

  @Override
  public Integer call() {
    Model loaded = Graphs.load(new Storage(new Configuration()), model);
    if (loaded instanceof ComputationGraph graph) {
      return graph(graph);
    }
    MultiLayerNetwork network = (MultiLayerNetwork) loaded;
    long total = 0;
    long trainable = 0;
    System.out.printf("%-3s %-16s %-26s %-18s %12s  %s%n", "#", "layer", "type", "shape", "parameters", "frozen");
    for (Surgery.LayerInfo l : Surgery.describe(network)) {
      System.out.printf("%-3d %-16s %-26s %-18s %,12d  %s%n", l.index(), l.name(), l.type(), l.shape(), l.parameters(), l.frozen() ? "yes" : "no");
      total += l.parameters();
      trainable += l.frozen() ? 0 : l.parameters();
    }
    System.out.printf("total %,d parameters, %,d trainable; input %d values%n", total, trainable, Surgery.inputSize(network));
    return GraftCli.EXIT_OK;
  }

  /** A graph's vertices in topological order, with what feeds each. */
  private static int graph(ComputationGraph graph) {
    long total = 0;
    long trainable = 0;
    System.out.printf("%-3s %-22s %-20s %-42s %-10s %10s  %s%n", "#", "vertex", "type", "inputs", "output", "parameters", "frozen");
    for (Graphs.VertexInfo v : Graphs.describe(graph)) {
      System.out.printf("%-3d %-22s %-20s %-42s %-10s %,10d  %s%n", v.index(), v.name(), v.type(), String.join(", ", v.inputs()), v.shape(),
          v.parameters(), v.frozen() ? "yes" : "no");
      total += v.parameters();
      trainable += v.frozen() ? 0 : v.parameters();
    }
    System.out.printf("ComputationGraph: %d vertices, total %,d parameters, %,d trainable; input %d values%n",
        graph.getConfiguration().getVertices().size(), total, trainable, Graphs.inputSize(graph));
    // the parameter groups graft finetune's discriminative rates and gradual unfreezing use (surgery.groups: stages)
    System.out.println("groups (bottom to top): " + GraphSurgery.groups(graph, GraphSurgery.Grouping.STAGES).entrySet().stream()
        .map(e -> e.getKey() + " (" + e.getValue().size() + ")").collect(java.util.stream.Collectors.joining(", ")));
    return GraftCli.EXIT_OK;
  }
}

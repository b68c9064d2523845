package io.graft.jobs.finetune;

import io.graft.jobs.finetune.FinetuneConfig.StageConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * The strategy presets as stage lists, over a total of {@code epochs} rounds at base rate
 * {@code optimizer.learningRate} (lr):
 *
 * <ul>
 *   <li>{@code scratch}: random weights, all layers at lr (the baseline)
 *   <li>{@code feature-extraction}: base frozen, the new head at lr, on cached base outputs
 *   <li>{@code full}: all layers at lr * fullRateFactor (a small rate)
 *   <li>{@code two-stage}: the shape of fastai's fine_tune: the head for headEpochs at lr, then all
 *       layers at lr / 2; unlike fastai, one rate for every layer, not slice(lr/100, lr/2), which
 *       loses 10 to 20 points on Graft's benchmarks ({@code deploy/bench/two-stage.sh})
 *   <li>{@code gradual-unfreeze}: one more parameter group trainable per stage, from the top
 *   <li>{@code discriminative}: all layers, layer group l of L at lr * alpha^(L-l)
 *   <li>{@code adapters}: base frozen, adapters and head trained at lr
 *   <li>{@code lora}: base frozen, low-rank updates of its dense and convolution layers and the head
 *       trained at lr
 * </ul>
 */
final class Strategies {
  private Strategies() {}

  /**
   * @param groups the parameter groups' names, bottom to top (a layer's or a graph group's name: what a stage trains from)
   * @param headGroups how many of the top groups are the new head (the output and any added layers)
   */
  static List<StageConfig> expand(FinetuneConfig c, List<String> groups, int headGroups) {
    double lr = c.optimizer().learningRate();
    int e = c.epochs();
    return switch (c.strategy()) {
      case SCRATCH -> List.of(stage("scratch", "all", e, lr, 1.0));
      case FEATURE_EXTRACTION -> List.of(stage("head", "head", e, lr, 1.0));
      case FULL -> List.of(stage("full", "all", e, lr * c.fullRateFactor(), 1.0));
      case DISCRIMINATIVE -> List.of(stage("discriminative", "all", e, lr, c.alpha()));
      case ADAPTERS -> List.of(stage("adapters", "adapters", e, lr, 1.0));
      case LORA -> List.of(stage("lora", "lora", e, lr, 1.0));
      case TWO_STAGE -> {
        int head = Math.min(c.headEpochs(), Math.max(1, e - 1));
        List<StageConfig> s = new ArrayList<>();
        s.add(stage("head", "head", head, lr, 1.0));
        if (e - head > 0) {
          // every layer at lr/2: fastai's slice(lr/100, lr/2) starves the layers that must adapt (docs/finetune.md)
          s.add(stage("all", "all", e - head, lr / 2, 1.0));
        }
        yield s;
      }
      case GRADUAL_UNFREEZE -> {
        List<StageConfig> s = new ArrayList<>();
        int stages = groups.size() - headGroups + 1;
        int per = Math.max(1, e / stages);
        int used = 0;
        for (int i = 0; i < stages; i++) {
          String from = groups.get(groups.size() - headGroups - i);
          int epochs = i == stages - 1 ? Math.max(1, e - used) : per;
          used += epochs;
          s.add(stage("unfreeze-" + from, from, epochs, lr * (i == 0 ? 1 : 0.5), 1.0));
        }
        yield s;
      }
    };
  }

  private static StageConfig stage(String name, String trainFrom, int epochs, double lr, double alpha) {
    return new StageConfig(name, trainFrom, (Integer) epochs, (Double) lr, (Double) alpha, null, Boolean.TRUE);
  }
}

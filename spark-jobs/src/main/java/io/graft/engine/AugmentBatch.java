package io.graft.engine;

import io.graft.data.Augmentation;
import java.util.Arrays;
import java.util.Random;
import org.apache.spark.api.java.function.Function;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Augments every image of a minibatch on the executor, seeded by the round and the batch's
 * contents, so each round sees new views and a rerun sees the same ones. Used by supervised
 * pre-training and fine-tuning.
 */
public final class AugmentBatch implements Function<DataSet, DataSet> {
  private final Augmentation aug;
  private final int[] shape;
  private final long seed;

  /** {@code shape}: the dataset's feature shape ([C, H, W] or [H, W]); {@code seed}: the run's seed mixed with the round. */
  public AugmentBatch(Augmentation aug, int[] shape, long seed) {
    this.aug = aug;
    this.shape = shape;
    this.seed = seed;
  }

  @Override
  public DataSet call(DataSet ds) {
    INDArray x = ds.getFeatures();
    int n = (int) x.size(0);
    int f = (int) x.size(1);
    float[] all = x.dup('c').data().asFloat();
    Random rng = new Random(seed ^ (31L * Float.floatToIntBits(all.length > 0 ? all[all.length / 2] : 0) + n));
    int c = shape.length == 3 ? shape[0] : 1;
    int h = shape.length == 3 ? shape[1] : shape.length == 2 ? shape[0] : 1;
    int w = shape.length == 3 ? shape[2] : shape.length == 2 ? shape[1] : f;
    float[] out = new float[all.length];
    for (int i = 0; i < n; i++) {
      float[] img = Arrays.copyOfRange(all, i * f, (i + 1) * f);
      System.arraycopy(aug.apply(img, c, h, w, rng), 0, out, i * f, f);
    }
    return new DataSet(Nd4j.create(out, new long[] {n, f}, 'c'), ds.getLabels());
  }
}

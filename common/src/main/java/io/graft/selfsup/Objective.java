package io.graft.selfsup;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonValue;
import io.graft.config.ConfigException;
import java.io.Serializable;
import java.util.List;

/**
 * What {@code graft pretrain} optimises.
 *
 * <ul>
 *   <li>{@code supervised}: cross-entropy on the labels (the default).
 *   <li>{@code contrastive}: SimCLR. Two augmented views of every example pass the encoder and a
 *       projection head ({@code proj1}: dense {@code projection[0]} + ReLU, then {@code output}:
 *       {@code projection[1]} linear units) and {@link NtXentLoss} pulls the two views together
 *       against the rest of the minibatch. Labels are never read.
 *   <li>{@code reconstruction}: a denoising (masked) autoencoder. The encoder sees the input
 *       corrupted by {@link Corruption}, a dense decoder ({@code output}) reconstructs the clean
 *       input; binary cross-entropy for inputs in [0, 1], squared error otherwise. Labels are
 *       never read.
 * </ul>
 * The encoder is the supervised architecture without its classifier, so its layer names
 * ({@code conv1 ... dense1}) are the same and {@code graft finetune} drops the self-supervised
 * head like any output layer.
 *
 * @param kind the objective
 * @param temperature contrastive: the NT-Xent temperature
 * @param projection contrastive: widths of the projection head's hidden and output layers
 * @param mask reconstruction: probability that a patch of the input is zeroed
 * @param patch reconstruction: side of a masked patch on images (1: pixels)
 * @param noise reconstruction: standard deviation of Gaussian noise added to the input
 */
public record Objective(Kind kind, double temperature, List<Integer> projection, double mask, int patch, double noise)
    implements Serializable {

  /** The objectives. */
  public enum Kind {
    SUPERVISED,
    CONTRASTIVE,
    RECONSTRUCTION;

    @JsonCreator
    public static Kind parse(String s) {
      for (Kind k : values()) {
        if (k.name().equalsIgnoreCase(s)) {
          return k;
        }
      }
      throw new ConfigException("objective.kind must be supervised, contrastive or reconstruction, cannot be: " + s);
    }

    @JsonValue
    @Override
    public String toString() {
      return name().toLowerCase();
    }
  }

  @JsonCreator
  public Objective(@JsonProperty("kind") Kind kind, @JsonProperty("temperature") Double temperature,
      @JsonProperty("projection") List<Integer> projection, @JsonProperty("mask") Double mask, @JsonProperty("patch") Integer patch,
      @JsonProperty("noise") Double noise) {
    this(kind == null ? Kind.SUPERVISED : kind, temperature == null ? 0.5 : temperature,
        projection == null ? List.of(256, 64) : List.copyOf(projection), mask == null ? 0.5 : mask, patch == null ? 4 : patch,
        noise == null ? 0.0 : noise);
  }

  public Objective {
    ConfigException.require(temperature > 0, "objective.temperature must be positive, cannot be: %s", temperature);
    ConfigException.require(projection.size() == 2 && projection.stream().allMatch(w -> w != null && w > 0),
        "objective.projection must list 2 positive widths (hidden, output), cannot be: %s", projection);
    if (kind == Kind.RECONSTRUCTION) {
      new Corruption(mask, patch, noise); // validates (the fields are not assigned yet)
    }
  }

  public static Objective supervised() {
    return new Objective(Kind.SUPERVISED, null, null, null, null, null);
  }

  /** Whether the objective trains without labels. */
  public boolean selfSupervised() {
    return kind != Kind.SUPERVISED;
  }

  /** The reconstruction objective's input corruption. */
  public Corruption corruption() {
    return new Corruption(mask, patch, noise);
  }
}

package io.graft.jobs.multitask;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.graft.config.ConfigException;
import io.graft.config.Input;
import io.graft.config.OptimizerConfig;
import io.graft.config.TrainingConfig;
import io.graft.config.UnusedKeys;
import io.graft.model.ModelConfig;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * {@code graft multitask}'s configuration: K tasks on one shared trunk, each with its own head and
 * label space, trained on the objective {@code sum_i w_i L_i}.
 *
 * @param tasks the tasks, at least two
 * @param sampling how each minibatch slot picks its task: {@code proportional} to the task's rows,
 *     {@code uniform}, or {@code temperature} (proportional to rows^(1/T))
 * @param temperature T for temperature sampling
 * @param weighting {@code fixed} (each task's {@code weight}) or {@code uncertainty} (Kendall et
 *     al., 2018: weights exp(-s_i) with s_i learned between rounds, starting from log(1/weight))
 * @param headHidden width of a hidden ReLU layer in each head (0: a linear head on the trunk)
 */
@UnusedKeys(value = {"training.engine", "training.approach", "training.prefetch", "training.maxRows"},
    reason = "multitask trains its graph with Graft's own averaging (no engine choice, export approach or prefetch) on every task's rows (cap a task with its dataset, e.g. import --limit); remove the key")
public record MultitaskConfig(List<Task> tasks, Sampling sampling, double temperature, Weighting weighting, int headHidden, ModelConfig model,
    @Input String pretrained, OptimizerConfig optimizer, TrainingConfig training, String output) {

  /** How minibatches draw tasks. */
  public enum Sampling {
    PROPORTIONAL,
    UNIFORM,
    TEMPERATURE;

    @Override
    public String toString() {
      return name().toLowerCase();
    }
  }

  /** How task losses are weighted. */
  public enum Weighting {
    FIXED,
    UNCERTAINTY;

    @Override
    public String toString() {
      return name().toLowerCase();
    }
  }

  /**
   * One task.
   *
   * @param name the head's name (letters, digits, '-')
   * @param train its labelled training rows
   * @param test its held-out rows; when absent {@code holdoutFraction} of train is held out
   * @param weight lambda_i, the task's loss weight
   * @param labelsPerClass stratified label budget per class (0: all rows)
   * @param holdoutFraction share of train held out when there is no test set
   */
  public record Task(String name, @Input String train, @Input String test, double weight, int labelsPerClass, double holdoutFraction) {
    @JsonCreator
    public Task(@JsonProperty("name") String name, @JsonProperty("train") String train, @JsonProperty("test") String test,
        @JsonProperty("weight") Double weight, @JsonProperty("labelsPerClass") Integer labelsPerClass,
        @JsonProperty("holdoutFraction") Double holdoutFraction) {
      this(name, train, test, weight == null ? 1.0 : weight, labelsPerClass == null ? 0 : labelsPerClass,
          holdoutFraction == null ? 0.1 : holdoutFraction);
    }

    public Task {
      ConfigException.require(name != null && name.matches("[A-Za-z][A-Za-z0-9-]*"),
          "tasks[].name must be a letter followed by letters, digits or '-', cannot be: %s", name);
      ConfigException.require(train != null && !train.isBlank(), "Task '%s' needs train (a dataset written by 'graft import')", name);
      ConfigException.require(weight > 0 && Double.isFinite(weight), "Task '%s' weight must be positive, cannot be: %s", name, weight);
      ConfigException.require(labelsPerClass >= 0, "Task '%s' labelsPerClass must be non-negative (0: all), cannot be: %s", name, labelsPerClass);
      ConfigException.require(holdoutFraction > 0 && holdoutFraction < 1, "Task '%s' holdoutFraction must be in (0, 1), cannot be: %s", name,
          holdoutFraction);
    }
  }

  @JsonCreator
  public MultitaskConfig(
      @JsonProperty("tasks") List<Task> tasks,
      @JsonProperty("sampling") Sampling sampling,
      @JsonProperty("temperature") Double temperature,
      @JsonProperty("weighting") Weighting weighting,
      @JsonProperty("headHidden") Integer headHidden,
      @JsonProperty("model") ModelConfig model,
      @JsonProperty("pretrained") String pretrained,
      @JsonProperty("optimizer") OptimizerConfig optimizer,
      @JsonProperty("training") TrainingConfig training,
      @JsonProperty("output") String output) {
    this(tasks == null ? List.of() : List.copyOf(tasks), sampling == null ? Sampling.PROPORTIONAL : sampling,
        temperature == null ? 2.0 : temperature, weighting == null ? Weighting.FIXED : weighting, headHidden == null ? 0 : headHidden,
        model == null ? ModelConfig.defaults() : model, pretrained == null || pretrained.isBlank() ? null : pretrained,
        optimizer == null ? OptimizerConfig.defaults() : optimizer, training == null ? TrainingConfig.defaults() : training, output);
  }

  public MultitaskConfig {
    ConfigException.require(!tasks.isEmpty(), "tasks must list at least one task (one task trains the single-task baseline)");
    Set<String> names = new HashSet<>();
    for (Task t : tasks) {
      ConfigException.require(names.add(t.name()), "Two tasks are named '%s'", t.name());
    }
    ConfigException.require(temperature > 0, "temperature must be positive, cannot be: %s", temperature);
    ConfigException.require(headHidden >= 0, "headHidden must be non-negative, cannot be: %s", headHidden);
    ConfigException.require(output != null && !output.isBlank(), "output is required (where the model is written)");
  }

  /** Each task's share of minibatch slots, given its training rows. */
  public double[] samplingWeights(long[] rows) {
    double[] p = new double[rows.length];
    for (int i = 0; i < rows.length; i++) {
      p[i] = switch (sampling) {
        case PROPORTIONAL -> rows[i];
        case UNIFORM -> 1.0;
        case TEMPERATURE -> Math.pow(rows[i], 1.0 / temperature);
      };
    }
    return p;
  }
}

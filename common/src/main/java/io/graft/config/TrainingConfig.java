package io.graft.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonValue;
import io.graft.data.BadRecordPolicy;

/**
 * How the distributed training runs (dl4j-spark parameter averaging).
 *
 * @param epochs passes over the training data; one round = one epoch, with evaluation, metrics
 *     and a checkpoint after each
 * @param batchSizePerWorker minibatch size on each worker
 * @param averagingFrequency minibatches each worker fits between parameter averagings
 * @param prefetch minibatches prefetched asynchronously on each worker (0 disables)
 * @param workers parallel workers; 0 means Spark's default parallelism
 * @param approach {@code export} (batches written once to the work folder, re-read every epoch)
 *     or {@code direct} (batches kept in Spark memory)
 * @param seed seeds weight initialisation and the data splits
 * @param onBadRecord {@code fail} or {@code skip} rows whose label or width is wrong
 * @param maxRows cap on training rows, drawn at random with the seed (0: all), for quick runs
 * @param engine which parameter averaging trains single-network jobs: {@code dl4j-spark}
 *     (ParameterAveragingTrainingMaster) or {@code graft} (Graft's own broadcast-and-average
 *     rounds, which keep networks alive on executors between averaging steps). Heads on cached
 *     features and the shared-trunk stages always use {@code graft}.
 * @param sync how Graft's averaging synchronises workers: {@code steps} (one Spark job per
 *     averaging step), {@code barrier} (one barrier job per round, workers all-gather their weights
 *     every averaging step) or {@code auto} (barrier for states under 16 MB when every worker has
 *     a task slot; the default)
 */
public record TrainingConfig(
    int epochs,
    int batchSizePerWorker,
    int averagingFrequency,
    int prefetch,
    int workers,
    Approach approach,
    long seed,
    BadRecordPolicy onBadRecord,
    long maxRows,
    Engine engine,
    Sync sync) {

  /** Which parameter-averaging implementation trains the network. */
  public enum Engine {
    DL4J_SPARK,
    GRAFT;

    @Override
    public String toString() {
      return name().toLowerCase().replace('_', '-');
    }

    @JsonCreator
    public static Engine parse(String s) {
      for (Engine e : values()) {
        if (e.toString().equalsIgnoreCase(s) || e.name().equalsIgnoreCase(s)) {
          return e;
        }
      }
      throw new ConfigException("training.engine must be dl4j-spark or graft, cannot be: " + s);
    }

    @JsonValue
    public String json() {
      return toString();
    }
  }

  /** How Graft's own averaging synchronises its workers. */
  public enum Sync {
    STEPS,
    BARRIER,
    AUTO;

    @Override
    public String toString() {
      return name().toLowerCase();
    }
  }

  /** How dl4j-spark ships data to workers. */
  public enum Approach {
    EXPORT,
    DIRECT;

    @Override
    public String toString() {
      return name().toLowerCase();
    }
  }

  @JsonCreator
  public TrainingConfig(
      @JsonProperty("epochs") Integer epochs,
      @JsonProperty("batchSizePerWorker") Integer batchSizePerWorker,
      @JsonProperty("averagingFrequency") Integer averagingFrequency,
      @JsonProperty("prefetch") Integer prefetch,
      @JsonProperty("workers") Integer workers,
      @JsonProperty("approach") Approach approach,
      @JsonProperty("seed") Long seed,
      @JsonProperty("onBadRecord") BadRecordPolicy onBadRecord,
      @JsonProperty("maxRows") Long maxRows,
      @JsonProperty("engine") Engine engine,
      @JsonProperty("sync") Sync sync) {
    this(
        epochs == null ? 3 : epochs,
        batchSizePerWorker == null ? 64 : batchSizePerWorker,
        averagingFrequency == null ? 10 : averagingFrequency,
        prefetch == null ? 2 : prefetch,
        workers == null ? 0 : workers,
        approach == null ? Approach.EXPORT : approach,
        seed == null ? 42L : seed,
        onBadRecord == null ? BadRecordPolicy.FAIL : onBadRecord,
        maxRows == null ? 0L : maxRows,
        engine == null ? Engine.DL4J_SPARK : engine,
        sync == null ? Sync.AUTO : sync);
  }

  public TrainingConfig {
    ConfigException.require(epochs >= 1, "training.epochs must be at least 1, cannot be: %s", epochs);
    ConfigException.require(batchSizePerWorker >= 1, "training.batchSizePerWorker must be at least 1, cannot be: %s", batchSizePerWorker);
    ConfigException.require(averagingFrequency >= 1, "training.averagingFrequency must be at least 1, cannot be: %s", averagingFrequency);
    ConfigException.require(prefetch >= 0, "training.prefetch must be non-negative, cannot be: %s", prefetch);
    ConfigException.require(workers >= 0, "training.workers must be non-negative (0: Spark's default parallelism), cannot be: %s", workers);
    ConfigException.require(maxRows >= 0, "training.maxRows must be non-negative (0: all rows), cannot be: %s", maxRows);
  }

  public static TrainingConfig defaults() {
    return new TrainingConfig((Integer) null, null, null, null, null, null, null, null, null, null, null);
  }

  public TrainingConfig withEpochs(int newEpochs) {
    return new TrainingConfig(newEpochs, batchSizePerWorker, averagingFrequency, prefetch, workers, approach, seed, onBadRecord, maxRows, engine, sync);
  }
}

package io.graft.ml;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.lit;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.graft.spark.GraftDatasets;
import io.graft.testing.SparkTests;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator;
import org.apache.spark.ml.feature.StringIndexer;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.tuning.CrossValidator;
import org.apache.spark.ml.tuning.CrossValidatorModel;
import org.apache.spark.ml.tuning.ParamGridBuilder;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import scala.collection.JavaConverters;

/**
 * Graft's fine-tuning inside Spark ML: fitted in a Pipeline after Spark's own StringIndexer on the
 * UCI digits (in MNIST's layout) from an MNIST-pretrained LeNet, saved and reloaded with the same
 * predictions, and chosen between strategies by CrossValidator.
 */
class GraftFineTunerTest {
  final SparkSession spark = SparkTests.spark();
  @TempDir Path dir;

  /** The digits with their class as a string ("d7"), as a user's table would have it. */
  private Dataset<Row> digits() {
    return spark.read().parquet(SparkTests.digits28()).select(col(GraftDatasets.FEATURES).as("pixels"),
        concat(lit("d"), col(GraftDatasets.LABEL)).as("digit"), col(GraftDatasets.LABEL));
  }

  private GraftFineTuner tuner() {
    return new GraftFineTuner().setSourceModel(SparkTests.lenetSource()).setFeaturesCol("pixels").setLabelsPerClass(50).setEpochs(8).setLearningRate(0.003)
        .setHeadEpochs(1).setBatchSize(16).setAveragingFrequency(2).setWorkDir(dir.resolve("work").toUri().toString());
  }

  @Test
  void aPipelineWithSparksOwnStagesFitsSavesAndReloadsWithTheSamePredictions() throws Exception {
    Dataset<Row>[] split = digits().randomSplit(new double[] {0.7, 0.3}, 1);
    Pipeline pipeline = new Pipeline().setStages(new PipelineStage[] {
        new StringIndexer().setInputCol("digit").setOutputCol("digitIndex"),
        tuner().setLabelCol("digitIndex").setStrategy("gradual-unfreeze")});
    PipelineModel fitted = pipeline.fit(split[0]);
    Dataset<Row> predicted = fitted.transform(split[1]);
    double accuracy = new MulticlassClassificationEvaluator().setLabelCol("digitIndex").setMetricName("accuracy").evaluate(predicted);
    assertThat(accuracy).as("50 labelled digits per class, MNIST features").isGreaterThan(0.5);

    String saved = dir.resolve("pipeline-model").toUri().toString();
    fitted.write().save(saved);
    PipelineModel reloaded = PipelineModel.load(saved);
    assertThat(reloaded.transform(split[1]).select("prediction").collectAsList())
        .isEqualTo(predicted.select("prediction").collectAsList());
    assertThat(dir.resolve("work").toFile().list()).as("staged rows and the run folder are removed").isEmpty();

    String estimator = dir.resolve("estimator").toUri().toString();
    tuner().setStrategy("two-stage").write().save(estimator);
    GraftFineTuner loaded = GraftFineTuner.load(estimator);
    assertThat(loaded.getOrDefault(loaded.strategy())).isEqualTo("two-stage");
    assertThat(loaded.getOrDefault(loaded.sourceModel())).isEqualTo(SparkTests.lenetSource());
  }

  @Test
  void crossValidationPicksTheStrategyThatScoresBetterOnHeldOutFolds() {
    // On 50 digits per class from this small MNIST source (8 and 16 filters, one round on 6,000 images), training from
    // scratch beats a linear head on the frozen features by about 10 points: the choice must follow the folds' scores.
    Dataset<Row>[] split = digits().randomSplit(new double[] {0.7, 0.3}, 2);
    GraftFineTuner tuner = tuner();
    ParamMap[] grid = new ParamGridBuilder().addGrid(tuner.strategy(),
        JavaConverters.asScalaBufferConverter(List.of("scratch", "feature-extraction")).asScala()).build();
    MulticlassClassificationEvaluator accuracy = new MulticlassClassificationEvaluator().setMetricName("accuracy");
    CrossValidatorModel cv = new CrossValidator().setEstimator(tuner).setEstimatorParamMaps(grid).setNumFolds(2).setSeed(3)
        .setEvaluator(accuracy).fit(split[0]);
    double[] folds = cv.avgMetrics();
    assertThat(Math.abs(folds[0] - folds[1])).as("the two strategies score apart: %s", Arrays.toString(folds)).isGreaterThan(0.03);
    String better = folds[0] > folds[1] ? "scratch" : "feature-extraction";
    GraftFineTuner best = (GraftFineTuner) cv.bestModel().parent();
    assertThat(best.getOrDefault(best.strategy())).isEqualTo(better);
    assertThat(accuracy.evaluate(cv.transform(split[1]))).as("the chosen model on rows CrossValidator never saw")
        .isGreaterThan(Math.min(folds[0], folds[1]));
  }

  @Test
  void badInputIsRefusedBeforeAnyTraining() {
    assertThatThrownBy(() -> new GraftFineTuner().fit(digits())).hasMessageStartingWith("GraftFineTuner: sourceModel is not set");
    assertThatThrownBy(() -> tuner().setLabelCol("digit").fit(digits()))
        .hasMessage("labelCol 'digit' is string; expected a numeric class index (index string labels first, e.g. with a StringIndexer)");
    assertThatThrownBy(() -> tuner().setFeaturesCol("nope").fit(digits())).hasMessageStartingWith("featuresCol 'nope' not found");
    assertThatThrownBy(() -> tuner().setStrategy("fastest")).hasMessageContaining("parameter strategy given invalid value fastest");
    Dataset<Row> small = spark.read().parquet(SparkTests.digits8()).withColumnRenamed(GraftDatasets.FEATURES, "pixels");
    assertThatThrownBy(() -> tuner().fit(small))
        .hasMessage("GraftFineTuner: featuresCol 'pixels' has 64 values per row but " + SparkTests.lenetSource() + " takes 784");
    assertThat(dir.resolve("work").toFile().list()).as("nothing staged for refused input").isNullOrEmpty();
  }
}

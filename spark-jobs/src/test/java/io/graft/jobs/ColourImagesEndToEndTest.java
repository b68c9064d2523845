package io.graft.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import io.graft.config.ConfigLoader;
import io.graft.data.BadRecordPolicy;
import io.graft.data.ImportFormat;
import io.graft.data.Manifest;
import io.graft.data.image.ImageEncoder.Encoding;
import io.graft.engine.JobOptions;
import io.graft.jobs.export.ImageExportJob;
import io.graft.jobs.finetune.FinetuneConfig;
import io.graft.jobs.finetune.FinetuneJob;
import io.graft.jobs.importer.ImportConfig;
import io.graft.jobs.importer.ImportJob;
import io.graft.jobs.pretrain.PretrainConfig;
import io.graft.jobs.pretrain.PretrainJob;
import io.graft.testing.SparkTests;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * 3-channel images end to end through Spark: MNIST and Fashion-MNIST digits tinted with a random
 * colour each, written as RGB PNG folders, imported, a LeNet pre-trained on the colour digits with
 * colour jitter, then fine-tuned whole on colour Fashion-MNIST with crop, flip and jitter.
 */
class ColourImagesEndToEndTest {
  final SparkSession spark = SparkTests.spark();
  @TempDir Path dir;

  private String colourDataset(String source, String name) throws Exception {
    String files = dir.resolve(name + "-png").toUri().toString();
    ImageExportJob.run(new ImageExportJob.Spec(source, files, ImageExportJob.Layout.FOLDER, Encoding.PNG, 0, 0, true, 7), spark, s -> {});
    String out = dir.resolve(name).toUri().toString();
    Manifest m = ImportJob.run(ImportConfig.of(ImportFormat.IMAGE_FOLDER, files, out).withPolicy(BadRecordPolicy.FAIL), spark, s -> {})
        .manifest();
    assertThat(m.featureShape()).containsExactly(3, 28, 28);
    return out;
  }

  @Test
  void aColourDatasetPretrainsAndFineTunesWithColourAugmentation() throws Exception {
    String train = colourDataset(SparkTests.mnistTrain(), "colour-mnist-train");
    String test = colourDataset(SparkTests.mnistTest(), "colour-mnist-test");
    String model = dir.resolve("colour-lenet").toUri().toString();
    PretrainConfig pretrain = ConfigLoader.load(null, List.of("data.train=" + train, "data.test=" + test, "model.architecture=lenet",
        "model.convChannels=[8, 16]", "model.dense=64", "training.epochs=2", "training.batchSizePerWorker=32",
        "augmentation.brightness=0.2", "augmentation.saturation=0.5", "augmentation.hue=0.1", "output=" + model), PretrainConfig.class);
    PretrainJob.Result p = PretrainJob.run(pretrain, spark, JobOptions.quiet());
    assertThat(p.testAccuracy()).isGreaterThan(0.85);

    String fashionTrain = colourDataset(SparkTests.fashionTrain(), "colour-fashion-train");
    String fashionTest = colourDataset(SparkTests.fashionTest(), "colour-fashion-test");
    FinetuneConfig finetune = ConfigLoader.load(null, List.of("source=" + model, "data.train=" + fashionTrain, "data.test=" + fashionTest,
        "data.labelsPerClass=300", "stages=[{name: all, trainFrom: all, epochs: 3, cacheFeatures: false, learningRate: 0.003}]",
        "training.batchSizePerWorker=32", "augmentation.crop=0.8", "augmentation.flip=0.5",
        "augmentation.brightness=0.2", "augmentation.saturation=0.3", "output=" + dir.resolve("colour-fashion").toUri()), FinetuneConfig.class);
    FinetuneJob.Result f = FinetuneJob.run(finetune, spark, JobOptions.quiet());
    assertThat(f.history()).hasSize(3);
    assertThat(f.testAccuracy()).isGreaterThan(0.55);
  }
}

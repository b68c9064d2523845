package io.graft.diagnostics;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** How the report names a fine-tuning run's target, so runs on different targets are compared apart. */
class ReportInputsTest {
  @Test
  void aDatasetIsNamedByItsFolderWithoutAPipelineKey() {
    assertThat(ReportInputs.Run.datasetName("file:/w/graft-demo/digits/fa483df9ea9c")).isEqualTo("digits");
    assertThat(ReportInputs.Run.datasetName("hdfs://nn:9000/graft/fashion-train/df0e1cf8a792/")).isEqualTo("fashion-train");
    assertThat(ReportInputs.Run.datasetName("graft-demo/data/fashion/train")).isEqualTo("fashion/train");
    assertThat(ReportInputs.Run.datasetName("/data/amazon")).isEqualTo("amazon");
    assertThat(ReportInputs.Run.datasetName("train")).isEqualTo("train");
  }
}

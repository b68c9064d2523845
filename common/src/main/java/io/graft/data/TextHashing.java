package io.graft.data;

import java.nio.charset.StandardCharsets;

/**
 * Bag-of-words features by the hashing trick: each token is hashed (murmur3 of its UTF-8 bytes)
 * into one of {@code dim} buckets, counts are damped with log(1 + tf) and the vector is
 * L2-normalised. No vocabulary to ship, the same on every executor.
 */
public record TextHashing(int dim) implements TextFeaturizer {
  public TextHashing {
    if (dim < 2) {
      throw new IllegalArgumentException("text hashing dimension must be at least 2, cannot be: " + dim);
    }
  }

  @Override
  public float[] features(String text) {
    float[] v = new float[dim];
    for (String token : RowParsers.tokens(text)) {
      if (!token.isEmpty()) {
        byte[] bytes = token.getBytes(StandardCharsets.UTF_8);
        int bucket = Math.floorMod(murmur3(bytes), dim);
        v[bucket] += 1f;
      }
    }
    double norm = 0;
    for (int i = 0; i < dim; i++) {
      if (v[i] > 0) {
        v[i] = (float) Math.log1p(v[i]);
        norm += v[i] * v[i];
      }
    }
    if (norm > 0) {
      float inv = (float) (1 / Math.sqrt(norm));
      for (int i = 0; i < dim; i++) {
        v[i] *= inv;
      }
    }
    return v;
  }

  /** MurmurHash3 x86 32-bit, seed 0: stable across JVMs, unlike String.hashCode's distribution. */
  static int murmur3(byte[] data) {
    final int c1 = 0xcc9e2d51;
    final int c2 = 0x1b873593;
    int h = 0;
    int len = data.length;
    int nblocks = len / 4;
    for (int i = 0; i < nblocks; i++) {
      int k = (data[4 * i] & 0xff) | ((data[4 * i + 1] & 0xff) << 8) | ((data[4 * i + 2] & 0xff) << 16) | (data[4 * i + 3] << 24);
      k *= c1;
      k = Integer.rotateLeft(k, 15);
      k *= c2;
      h ^= k;
      h = Integer.rotateLeft(h, 13);
      h = h * 5 + 0xe6546b64;
    }
    int k = 0;
    int tail = nblocks * 4;
    switch (len & 3) {
      case 3:
        k ^= (data[tail + 2] & 0xff) << 16;
        // fall through
      case 2:
        k ^= (data[tail + 1] & 0xff) << 8;
        // fall through
      case 1:
        k ^= data[tail] & 0xff;
        k *= c1;
        k = Integer.rotateLeft(k, 15);
        k *= c2;
        h ^= k;
        break;
      default:
        break;
    }
    h ^= len;
    h ^= h >>> 16;
    h *= 0x85ebca6b;
    h ^= h >>> 13;
    h *= 0xc2b2ae35;
    h ^= h >>> 16;
    return h;
  }
}

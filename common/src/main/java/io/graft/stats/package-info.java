/**
 * Statistics behind Graft's transfer diagnostics, Spark-free: {@link io.graft.stats.Verdict}
 * compares transfer runs with baseline runs (Welch's t-test, Hedges' g) and says whether transfer
 * helped, did nothing or hurt.
 */
package io.graft.stats;

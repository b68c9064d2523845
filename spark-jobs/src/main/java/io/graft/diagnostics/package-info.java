/**
 * Transfer diagnostics on Spark: proxy A-distance between domains, per-layer linear probes with a
 * freeze-depth recommendation, evaluation with per-class metrics, negative-transfer verdicts over
 * run folders, and the HTML report.
 */
package io.graft.diagnostics;

/**
 * Graft's benchmarks, each measured in one run:
 * {@link io.graft.jobs.bench.FinetuneBenchmark} ({@code graft bench-finetune}: every fine-tuning
 * strategy on one label budget over several seeds), {@link io.graft.jobs.bench.OverheadBenchmark}
 * ({@code graft bench-overhead}: distributed pre-training against plain single-JVM DL4J) and
 * {@link io.graft.jobs.bench.CeilingBenchmark} ({@code graft bench-ceiling}: a training step's
 * achieved GFLOP/s against the machine's sgemm peak).
 */
package io.graft.jobs.bench;

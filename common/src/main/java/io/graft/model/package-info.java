/**
 * The networks Graft trains: {@link io.graft.model.ModelConfig} names an architecture and its
 * sizes, and {@link io.graft.model.Architectures} builds it as a DL4J configuration with stable
 * layer names that surgery, freezing and probes refer to. {@link io.graft.model.Flops} counts a
 * network's floating-point operations per example for the benchmarks, and
 * {@link io.graft.model.OneDnn} turns on ND4J's oneDNN layer kernels in each JVM. Spark-free.
 */
package io.graft.model;

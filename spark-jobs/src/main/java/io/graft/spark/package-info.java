/**
 * Graft's plumbing on Spark: {@link io.graft.spark.GraftSpark} creates the SparkSession every job
 * runs in (embedded {@code local[*]} when no master is given, Kryo with
 * {@link io.graft.spark.GraftKryoRegistrator}, {@link io.graft.spark.GraftPlugin} on every
 * executor), {@link io.graft.spark.GraftKerberos} settles Hadoop credentials before it starts,
 * {@link io.graft.spark.GraftDatasets} reads Graft datasets into DL4J minibatches and
 * {@link io.graft.spark.TaskRows} builds the multi-head minibatches of the shared-trunk stages.
 */
package io.graft.spark;

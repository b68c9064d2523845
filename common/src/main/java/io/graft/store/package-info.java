/**
 * Where Graft's bytes live: {@link io.graft.store.Storage} reads and writes every file on any
 * Hadoop {@code FileSystem} ({@code hdfs://}, {@code file://}, {@code s3a://}), each write atomic
 * by rename, and {@link io.graft.store.Provenance} writes the {@code provenance.json} that says
 * where a model came from. {@link io.graft.store.SerializableConf} carries a Hadoop configuration
 * into executor closures. The package depends on Hadoop's filesystem API, never on Spark.
 */
package io.graft.store;

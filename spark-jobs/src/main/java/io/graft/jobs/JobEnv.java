package io.graft.jobs;

import io.graft.store.Storage;
import org.apache.spark.SparkConf;

/**
 * Where a job will run, known before its Spark session starts: the configuration the session
 * starts with, and storage on that session's Hadoop configuration (site files plus
 * {@code spark.hadoop.*}), so a path checked before Spark starts means what it will mean to the job.
 */
public record JobEnv(SparkConf sparkConf, Storage storage) {}

/**
 * {@code graft import}: raw files (IDX, CSV, LIBSVM, reviews JSON, image folders, lists and tables)
 * to Graft datasets, parsed and decoded on the executors, written atomically with a manifest.
 */
package io.graft.jobs.importer;

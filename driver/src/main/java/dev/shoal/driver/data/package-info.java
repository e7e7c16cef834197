/**
 * Data sources: turn input files (IDX pairs; Parquet, CSV and JSON tables) into balanced, persisted RDDs of
 * {@link dev.shoal.kernel.ExampleBlock}s. Headers and schemas are read on the driver; records are read by the
 * executors, and nothing is collected on the driver.
 */
package dev.shoal.driver.data;

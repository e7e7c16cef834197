/**
 * Data sources: turn input files into balanced, persisted RDDs of {@link dev.shoal.kernel.ExampleBlock}s.
 * Headers are read on the driver; records are read by the executors that keep them.
 */
package dev.shoal.driver.data;

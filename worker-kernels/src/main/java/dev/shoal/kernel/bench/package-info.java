/**
 * The worker kernel's micro-benchmark ({@code shoal bench-kernel}): training steps timed without Spark, against
 * DL4J's own training step and a matrix-product ceiling measured in the same JVM. Like the rest of
 * worker-kernels it must not import Spark.
 */
package dev.shoal.kernel.bench;

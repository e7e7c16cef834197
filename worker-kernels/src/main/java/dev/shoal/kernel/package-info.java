/** Executor-side training kernels. Imports DL4J and ND4J only; never org.apache.spark. */
package dev.shoal.kernel;

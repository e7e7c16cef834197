/**
 * Configuration values shared by the executor and the driver: the model and optimizer records that a job file
 * binds to, with their defaults, documentation and checks. Plain Java; no Spark, no Jackson.
 */
package dev.shoal.kernel.config;

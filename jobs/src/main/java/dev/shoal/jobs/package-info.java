/**
 * The command line ({@link dev.shoal.jobs.Shoal}) and the strict binding of job files to plan records.
 * Only this module reads YAML or arguments; it hands the driver a validated, immutable plan.
 */
package dev.shoal.jobs;

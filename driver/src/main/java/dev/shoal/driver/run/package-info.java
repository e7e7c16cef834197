/**
 * One training run from plan to run directory: pre-flight checks, Spark start, data loading, training, and the
 * files a person opens afterwards (plan.yaml, model.zip, metrics.jsonl, provenance.json).
 */
package dev.shoal.driver.run;

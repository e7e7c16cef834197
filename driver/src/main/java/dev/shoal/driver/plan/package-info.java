/**
 * The immutable, validated description of one training run, as bound from a job file. Records only: every key
 * is declared once, with its documentation, default and check. Built by the jobs module, read by the trainer.
 */
package dev.shoal.driver.plan;

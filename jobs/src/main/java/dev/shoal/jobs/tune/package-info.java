/**
 * Hyperparameter search: a space over job keys ({@link SearchSpace}), samplers that propose trials
 * ({@link RandomSampler}, {@link TpeSampler}), and asynchronous successive halving ({@link Asha}) that stops
 * trials behind their rung. {@code shoal tune} runs the trials as Shoal training runs.
 */
package dev.shoal.jobs.tune;

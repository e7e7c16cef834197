/**
 * TensorBoard event files: TensorFlow's record framing ({@link EventRecords}) around {@code Event} protobufs
 * generated from TensorBoard's own definitions ({@code src/main/proto}), written by {@link EventWriter}.
 */
package dev.shoal.driver.tensorboard;

/**
 * Which model is current: the gate that decides whether a challenger replaces the champion. Pure decisions over
 * evaluation figures; no Spark, no file system.
 */
package dev.shoal.driver.registry;

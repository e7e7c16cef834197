/**
 * Which model is current: the registry of named, versioned models on any Hadoop file system, and the gate that
 * decides whether a challenger replaces the champion (a pure decision over evaluation figures).
 */
package dev.shoal.driver.registry;

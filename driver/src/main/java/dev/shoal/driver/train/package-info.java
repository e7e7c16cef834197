/** The training loop on the driver: rounds of broadcast, local steps on executors, and merge. */
package dev.shoal.driver.train;

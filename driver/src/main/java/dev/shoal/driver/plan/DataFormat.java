package dev.shoal.driver.plan;

/** Input formats. */
public enum DataFormat {
    /** IDX files as used by MNIST and Fashion-MNIST (raw or gzipped): unsigned-byte images and labels. */
    IDX
}

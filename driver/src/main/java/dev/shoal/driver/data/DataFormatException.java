package dev.shoal.driver.data;

/** An input file that does not hold what it should; the message names the file, the record and the value. */
public final class DataFormatException extends RuntimeException {
    public DataFormatException(String message) {
        super(message);
    }

    public DataFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}

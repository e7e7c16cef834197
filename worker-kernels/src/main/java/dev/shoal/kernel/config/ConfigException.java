package dev.shoal.kernel.config;

/**
 * A configuration value that was rejected. Carries the key (dotted path, prefixed by the binder as it unwinds
 * nested sections), the value found and what is allowed, and renders them as one line.
 */
public final class ConfigException extends IllegalArgumentException {
    private final String key;
    private final String value;
    private final String expected;

    public ConfigException(String key, Object value, String expected) {
        super(render(key, value, expected));
        this.key = key;
        this.value = String.valueOf(value);
        this.expected = expected;
    }

    /** The same error with its key placed under {@code section}. */
    public ConfigException under(String section) {
        return new ConfigException(section + "." + key, value, expected);
    }

    public String key() {
        return key;
    }

    private static String render(String key, Object value, String expected) {
        return key + " = " + value + ": " + expected;
    }
}

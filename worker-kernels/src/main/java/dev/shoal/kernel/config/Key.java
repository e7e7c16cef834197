package dev.shoal.kernel.config;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Declares one job-file key on a record component: its documentation and its default, in one place.
 * The job-file binder reads it to fill in absent keys and to print the configuration reference, so the
 * docs and the defaults cannot drift apart.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.RECORD_COMPONENT)
public @interface Key {
    /** Marks a key that has no default and must be given. */
    String REQUIRED = "\u0000required";

    /** One sentence saying what the key controls and what values mean. */
    String doc();

    /** The default as it would be written in YAML; {@link #REQUIRED} when there is none. */
    String defaultValue() default REQUIRED;

    /**
     * A file or folder: relative values written in a job file are read against the job file's folder, and those
     * given on the command line ({@code --set}) or by default against the working directory.
     */
    boolean path() default false;
}

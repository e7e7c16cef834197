package dev.shoal.kernel.config;

/**
 * A failure the user can act on (a run directory that exists, a registry without a champion, a record that
 * cannot be scored, a stage whose peers keep dying): the command line prints its message as one line. Anything
 * else that escapes a command is a bug and is printed with its stack trace.
 */
public class UserFacingException extends RuntimeException {

    public UserFacingException(String message) {
        super(message);
    }

    public UserFacingException(String message, Throwable cause) {
        super(message, cause);
    }
}

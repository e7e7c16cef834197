package dev.shoal.kernel.sharing;

/** A peer could not be reached, stalled past the timeout, or went away: the whole step group must stop. */
public final class PeerException extends RuntimeException {
    public PeerException(String message, Throwable cause) {
        super(message, cause);
    }
}

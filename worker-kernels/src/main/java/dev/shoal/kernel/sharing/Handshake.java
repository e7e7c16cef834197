package dev.shoal.kernel.sharing;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Proof that both ends of a gradient-sharing connection belong to the same run, before anything else crosses it:
 * a challenge-response over a per-run secret (which travels to the workers inside Spark's tasks, so Spark's own
 * authentication and encryption protect it when enabled).
 *
 * <pre>
 * client -> server   16-byte nonce Nc
 * server -> client   16-byte nonce Ns
 * client -> server   HMAC-SHA256(secret, "shoal-client" | Nc | Ns)    the server checks it, or closes
 * server -> client   HMAC-SHA256(secret, "shoal-server" | Nc | Ns)    the client checks it, or fails
 * </pre>
 * The server speaks second and checks first, so a stranger learns nothing but a nonce; the two ends use
 * different labels, so neither can be answered with its own proof. Only the connection's start is
 * authenticated: the messages after it are not signed or encrypted.
 */
public final class Handshake {
    /** Bytes of a run's secret. */
    public static final int SECRET_BYTES = 32;
    private static final int NONCE_BYTES = 16;
    private static final SecureRandom RANDOM = new SecureRandom();

    private Handshake() {
    }

    /** A fresh secret for one run. */
    public static byte[] newSecret() {
        byte[] secret = new byte[SECRET_BYTES];
        RANDOM.nextBytes(secret);
        return secret;
    }

    /** The connecting side: proves itself, then checks the server. */
    public static void asClient(DataInputStream in, DataOutputStream out, byte[] secret) throws IOException {
        byte[] mine = nonce();
        out.write(mine);
        out.flush();
        byte[] theirs = in.readNBytes(NONCE_BYTES);
        if (theirs.length < NONCE_BYTES) {
            throw new RefusedException("the other end closed the connection during the handshake");
        }
        out.write(proof(secret, "shoal-client", mine, theirs));
        out.flush();
        byte[] answer = in.readNBytes(32);
        if (!MessageDigest.isEqual(answer, proof(secret, "shoal-server", mine, theirs))) {
            throw new RefusedException(answer.length < 32
                    ? "the other end refused this worker's proof (a different run's secret?)"
                    : "the other end could not prove it belongs to this run");
        }
    }

    /** The accepting side: checks the client before it answers. */
    public static void asServer(DataInputStream in, DataOutputStream out, byte[] secret) throws IOException {
        byte[] theirs = in.readNBytes(NONCE_BYTES);
        if (theirs.length < NONCE_BYTES) {
            throw new RefusedException("it closed the connection before the handshake");
        }
        byte[] mine = nonce();
        out.write(mine);
        out.flush();
        byte[] claim = in.readNBytes(32);
        if (!MessageDigest.isEqual(claim, proof(secret, "shoal-client", theirs, mine))) {
            throw new RefusedException("it could not prove it belongs to this run");
        }
        out.write(proof(secret, "shoal-server", theirs, mine));
        out.flush();
    }

    private static byte[] nonce() {
        byte[] n = new byte[NONCE_BYTES];
        RANDOM.nextBytes(n);
        return n;
    }

    private static byte[] proof(byte[] secret, String label, byte[] clientNonce, byte[] serverNonce) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            mac.update(label.getBytes(StandardCharsets.US_ASCII));
            mac.update(clientNonce);
            mac.update(serverNonce);
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is missing from this JVM", e);
        }
    }

    /** The other end did not prove it belongs to this run (or stopped answering during the handshake). */
    public static final class RefusedException extends IOException {
        RefusedException(String message) {
            super(message);
        }
    }
}

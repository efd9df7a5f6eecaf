package ioasid.http.impl;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.Locale;

/**
 * The one user of the platform's HTTP endpoints, from the configuration {@code ioasid.http}:
 * a username and the SHA-256 of the password, written {@code {sha-256}<Base64>}. No password
 * is ever kept in plain text, and a request's is compared in constant time: the digests of the
 * given and the expected username and password are compared whole, and both comparisons always
 * run.
 */
final class Credentials {
    static final String PREFIX = "{sha-256}";

    private final byte[] userDigest;
    private final byte[] passwordDigest;
    final String username;

    private Credentials(String username, byte[] passwordDigest) {
        this.username = username;
        this.userDigest = sha256(username);
        this.passwordDigest = passwordDigest;
    }

    /**
     * The credentials a configuration gives.
     *
     * @throws IllegalArgumentException with one line naming what is wrong
     */
    static Credentials of(String username, String password) {
        if (username == null || username.isBlank()) {
            throw new IllegalArgumentException("username is empty");
        }
        if (password == null || password.isBlank()) {
            throw new IllegalArgumentException("no password is set");
        }
        String p = password.trim();
        if (!p.toLowerCase(Locale.ROOT).startsWith(PREFIX)) {
            throw new IllegalArgumentException("password is not " + PREFIX + "<Base64 of the "
                    + "SHA-256 of the password> (a plain password is never accepted)");
        }
        byte[] digest;
        try {
            digest = Base64.getDecoder().decode(p.substring(PREFIX.length()));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("password after " + PREFIX + " is not Base64");
        }
        if (digest.length != 32) {
            throw new IllegalArgumentException("password after " + PREFIX + " is " + digest.length
                    + " bytes, not the 32 of a SHA-256");
        }
        return new Credentials(username, digest);
    }

    /** The configuration value for a plain password: {@code {sha-256}<Base64>}. */
    static String hash(String password) {
        return PREFIX + Base64.getEncoder().encodeToString(sha256(password));
    }

    /** Whether an {@code Authorization} header carries these credentials (HTTP Basic). */
    boolean accept(String authorization) {
        if (authorization == null || authorization.length() < 6
                || !authorization.regionMatches(true, 0, "Basic ", 0, 6)) {
            return false;
        }
        String pair;
        try {
            pair = new String(Base64.getDecoder().decode(authorization.substring(6).trim()),
                    StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return false;
        }
        int colon = pair.indexOf(':');
        if (colon < 0) {
            return false;
        }
        boolean user = MessageDigest.isEqual(userDigest, sha256(pair.substring(0, colon)));
        boolean password = MessageDigest.isEqual(passwordDigest,
                sha256(pair.substring(colon + 1)));
        return user & password;
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java has SHA-256", e);
        }
    }
}

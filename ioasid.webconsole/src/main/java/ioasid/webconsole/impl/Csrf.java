package ioasid.webconsole.impl;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The pages' protection against cross-site requests: the Felix Web Console 5.0.18 has none of
 * its own, so every form carries a token only a page this plug-in served can know: an HMAC of
 * the logged-in user under a random key drawn when the page is activated. A POST without it, or
 * with another, changes nothing. The key never leaves the process; a restart makes open pages'
 * tokens stale, and the page says to reload.
 */
final class Csrf {
    static final String FIELD = "csrf";

    private final SecretKeySpec key;

    Csrf(SecureRandom random) {
        byte[] k = new byte[32];
        random.nextBytes(k);
        this.key = new SecretKeySpec(k, "HmacSHA256");
    }

    String token(String user) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(key);
            byte[] t = mac.doFinal(String.valueOf(user).getBytes(StandardCharsets.UTF_8));
            return Base64.getUrlEncoder().withoutPadding().encodeToString(t);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("every Java has HmacSHA256", e);
        }
    }

    /** Whether the token is the user's, compared in constant time. */
    boolean valid(String user, String token) {
        return token != null && MessageDigest.isEqual(
                token(user).getBytes(StandardCharsets.US_ASCII),
                token.getBytes(StandardCharsets.US_ASCII));
    }
}

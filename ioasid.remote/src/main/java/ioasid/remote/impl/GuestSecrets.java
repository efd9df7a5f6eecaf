package ioasid.remote.impl;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/*
 * The guests a host admits and their secrets, kept only as SHA-256 digests ("name={sha-256}<Base64>"
 * in the host's configuration). A check costs the same whether the guest exists or not, and
 * compares whole digests in constant time, so that a refused caller learns nothing from the
 * answer or its timing.
 */
final class GuestSecrets {
    static final String PREFIX = "{sha-256}";

    private final Map<String, byte[]> digests;
    /** One line per configuration entry that was refused, naming what was wrong. */
    final List<String> refused;
    /** Compared against when the name is unknown, so that the work done is the same. */
    private final byte[] decoy = sha256("ioasid.remote: no such guest");

    private GuestSecrets(Map<String, byte[]> digests, List<String> refused) {
        this.digests = digests;
        this.refused = refused;
    }

    /** Reads {@code name={sha-256}<Base64>} entries; a bad entry is skipped and named. */
    static GuestSecrets parse(String[] entries) {
        Map<String, byte[]> digests = new TreeMap<>();
        List<String> refused = new ArrayList<>();
        for (String entry : entries == null ? new String[0] : entries) {
            String e = entry == null ? "" : entry.trim();
            int eq = e.indexOf('=');
            String name = eq < 0 ? e : e.substring(0, eq).trim();
            if (eq <= 0 || name.isEmpty()) {
                refused.add("guest entry '" + mask(e) + "' is not name={sha-256}<Base64>");
                continue;
            }
            String hash = e.substring(eq + 1).trim();
            if (!hash.toLowerCase(Locale.ROOT).startsWith(PREFIX)) {
                refused.add("guest " + name + ": secret is not {sha-256}<Base64 of the SHA-256 of "
                        + "the secret> (a plain secret is never accepted)");
                continue;
            }
            byte[] digest;
            try {
                digest = Base64.getDecoder().decode(hash.substring(PREFIX.length()));
            } catch (IllegalArgumentException x) {
                refused.add("guest " + name + ": secret after " + PREFIX + " is not Base64");
                continue;
            }
            if (digest.length != 32) {
                refused.add("guest " + name + ": secret after " + PREFIX + " is " + digest.length
                        + " bytes, not the 32 of a SHA-256");
                continue;
            }
            if (digests.put(name, digest) != null) {
                refused.add("guest " + name + " is listed twice; the last entry counts");
            }
        }
        return new GuestSecrets(Collections.unmodifiableMap(digests), List.copyOf(refused));
    }

    /** Whether the secret is this guest's; the same work for an unknown guest. */
    boolean accepts(String guest, String secret) {
        byte[] expected = guest == null ? null : digests.get(guest);
        byte[] given = sha256(secret == null ? "" : secret);
        boolean match = MessageDigest.isEqual(expected == null ? decoy : expected, given);
        return match & expected != null & secret != null;
    }

    /** The names of the guests admitted, sorted. */
    List<String> names() {
        return List.copyOf(digests.keySet());
    }

    /** The configuration value for a plain secret: {@code {sha-256}<Base64>}. */
    static String hash(String secret) {
        return PREFIX + Base64.getEncoder().encodeToString(sha256(secret));
    }

    static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }

    /** An entry as it may be logged: never the value after '='. */
    private static String mask(String entry) {
        int eq = entry.indexOf('=');
        return eq < 0 ? (entry.length() > 40 ? entry.substring(0, 40) + "..." : entry)
                : entry.substring(0, eq) + "=...";
    }
}

package ioasid.remote.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

class GuestSecretsTest {
    private final GuestSecrets secrets = GuestSecrets.parse(new String[] {
        "vm1=" + GuestSecrets.hash("s1"), " vm2 = " + GuestSecrets.hash("s2") + " "});

    @Test
    void acceptsOnlyTheGuestsOwnSecret() {
        assertTrue(secrets.accepts("vm1", "s1"));
        assertTrue(secrets.accepts("vm2", "s2"));
        assertFalse(secrets.accepts("vm1", "s2"), "another guest's secret");
        assertFalse(secrets.accepts("vm1", "S1"));
        assertFalse(secrets.accepts("vm3", "s1"), "unknown guest");
        assertFalse(secrets.accepts("vm1", null));
        assertFalse(secrets.accepts(null, "s1"));
        assertFalse(secrets.accepts("vm1", ""));
        assertEquals(List.of("vm1", "vm2"), secrets.names());
    }

    @Test
    void anUnknownGuestWithTheDecoysSecretIsStillRefused() {
        assertFalse(secrets.accepts("nobody", "ioasid.remote: no such guest"));
    }

    @Test
    void badEntriesAreNamedOnceWithoutTheirValue() {
        GuestSecrets s = GuestSecrets.parse(new String[] {"vm1=plain-secret",
            "vm2={sha-256}not base64!", "vm3={sha-256}AAAA", "=x", "novalue",
            "vm4=" + GuestSecrets.hash("ok")});
        assertEquals(List.of("vm4"), s.names());
        assertEquals(5, s.refused.size(), s.refused.toString());
        for (String line : s.refused) {
            assertFalse(line.contains("plain-secret"), line);
            assertFalse(line.contains("\n"), line);
        }
        assertTrue(s.refused.get(0).contains("a plain secret is never accepted"));
        assertTrue(s.refused.get(2).contains("3 bytes, not the 32"), s.refused.get(2));
        assertFalse(s.accepts("vm1", "plain-secret"));
    }

    @Test
    void noEntriesAdmitNoOne() {
        GuestSecrets s = GuestSecrets.parse(null);
        assertFalse(s.accepts("vm1", "s1"));
        assertTrue(s.refused.isEmpty());
    }
}

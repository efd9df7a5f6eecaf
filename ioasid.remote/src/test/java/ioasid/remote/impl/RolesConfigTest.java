package ioasid.remote.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.lang.annotation.Annotation;
import java.net.ServerSocket;

import org.junit.jupiter.api.Test;

/** The roles' own checks of an operator's configuration: one line naming what is wrong. */
class RolesConfigTest {
    private static RemoteGuest.Config guest(String host, String name, String secret) {
        return new RemoteGuest.Config() {
            @Override
            public Class<? extends Annotation> annotationType() {
                return RemoteGuest.Config.class;
            }

            @Override
            public String host() {
                return host;
            }

            @Override
            public String name() {
                return name;
            }

            @Override
            public String secret() {
                return secret;
            }

            @Override
            public int heartbeat_ms() {
                return 250;
            }

            @Override
            public int timeout_ms() {
                return 2000;
            }

            @Override
            public boolean listener() {
                return true;
            }

            @Override
            public String listener_host() {
                return "127.0.0.1";
            }

            @Override
            public int listener_port() {
                return 0;
            }
        };
    }

    @Test
    void aGuestConfigurationNamesWhatIsMissing() {
        assertNull(RemoteGuest.wrong(guest("127.0.0.1:9301", "vm1", "s")));
        assertEquals("no guest name (name=\"...\")", RemoteGuest.wrong(guest("h:1", " ", "s")));
        assertEquals("no secret for guest vm1 (secret=\"...\")",
                RemoteGuest.wrong(guest("h:1", "vm1", null)));
        assertEquals("host \"127.0.0.1\" is not host:port",
                RemoteGuest.wrong(guest("127.0.0.1", "vm1", "s")));
        assertEquals("host \"h:port\" is not host:port",
                RemoteGuest.wrong(guest("h:port", "vm1", "s")));
    }

    @Test
    void aPortInUseIsNamed() throws Exception {
        int port;
        try (ServerSocket taken = new ServerSocket(0)) {
            port = taken.getLocalPort();
            assertNotNull(RemoteHost.portInUse(port));
        }
        assertNull(RemoteHost.portInUse(port));
    }
}

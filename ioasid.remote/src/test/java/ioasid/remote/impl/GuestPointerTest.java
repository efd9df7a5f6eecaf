package ioasid.remote.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** remote:connect's rewrite of the guest's file: the host line only, in the file's own form. */
class GuestPointerTest {

    @Test
    void theHostLineIsReplacedAndNothingElse(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("ioasid.remote.guest.config");
        Files.writeString(f, "name=\"vm1\"\nhost=\"127.0.0.1:9301\"\nsecret=\"s\"\n");
        GuestPointer.rewrite(f, "127.0.0.1:9302");
        assertEquals("name=\"vm1\"\nhost=\"127.0.0.1:9302\"\nsecret=\"s\"\n", Files.readString(f));
        assertEquals(1, Files.list(dir).count(), "no temporary file left behind");
    }

    @Test
    void aFileWithoutAHostLineGetsOneAndACfgFileItsOwnForm(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("ioasid.remote.guest.config");
        Files.writeString(config, "name=\"vm1\"\nsecret=\"s\"");
        GuestPointer.rewrite(config, "10.0.0.2:9301");
        assertEquals("name=\"vm1\"\nsecret=\"s\"\nhost=\"10.0.0.2:9301\"\n",
                Files.readString(config));
        Path cfg = dir.resolve("ioasid.remote.guest.cfg");
        Files.writeString(cfg, "host = 127.0.0.1:9301\nname = vm1\n");
        GuestPointer.rewrite(cfg, "127.0.0.1:9302");
        assertEquals("host=127.0.0.1:9302\nname = vm1\n", Files.readString(cfg));
    }

    @Test
    void aTargetThatIsNotHostPortIsNamed() {
        assertNull(RemoteGuest.wrongHost("127.0.0.1:9302"));
        for (String bad : new String[] {null, "", "9302", ":9302", "h:", "h:x", "h:99999"}) {
            assertEquals("host \"" + bad + "\" is not host:port", RemoteGuest.wrongHost(bad));
        }
    }
}

package ioasid.console.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

import ioasid.console.impl.Launch.Mode;

class LaunchTest {
    private static final String[] NONE = {};

    @Test
    void withoutArgumentsATerminalGetsTheConsoleAndAPipeIsReadLineByLine() {
        assertEquals(Mode.INTERACTIVE, Launch.of(NONE, null, true).mode);
        assertEquals(Mode.INPUT, Launch.of(NONE, null, false).mode);
    }

    @Test
    void commandsAndScripts() {
        Launch c = Launch.of(new String[] {"-c", "iommu:await 3;", "iommu:backends"}, null, true);
        assertEquals(Mode.COMMANDS, c.mode);
        assertEquals("iommu:await 3; iommu:backends", c.text);
        Launch f = Launch.of(new String[] {"setup.gosh"}, null, true);
        assertEquals(Mode.FILE, f.mode);
        assertEquals("setup.gosh", f.text);
        assertEquals(Mode.HELP, Launch.of(new String[] {"--help"}, null, true).mode);
        assertEquals(Mode.SERVE, Launch.of(new String[] {"--serve"}, null, false).mode,
                "a service with no terminal and no input serves until stopped");
    }

    @Test
    void goshArgsAsGogoShellsReadThem() {
        Launch g = Launch.of(NONE, "--nointeractive -c 'iommu:await 3; stop 0'", true);
        assertEquals(Mode.COMMANDS, g.mode);
        assertEquals("iommu:await 3; stop 0", g.text);
        assertEquals(Mode.SERVE, Launch.of(NONE, "--nointeractive", true).mode);
        assertEquals(Mode.COMMANDS, Launch.of(new String[] {"-c", "x"}, "--nointeractive", true)
                .mode, "the command line wins over the property");
    }

    @Test
    void badArgumentsNameWhatIsWrong() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Launch.of(new String[] {"--verbose"}, null, true));
        assertEquals("unknown option --verbose", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Launch.of(new String[] {"-c"}, null, true));
        assertTrue(e.getMessage().contains("wants the commands"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Launch.of(new String[] {"a.gosh", "b.gosh"}, null, true));
        assertTrue(e.getMessage().startsWith("one script at a time"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Launch.of(new String[] {"--serve", "x"}, null, true));
        assertTrue(e.getMessage().startsWith("--serve takes nothing"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Launch.of(NONE, "-c 'unclosed", true));
        assertTrue(e.getMessage().startsWith("unclosed '"), e.getMessage());
    }

    @Test
    void tokensSplitAsAShellDoes() {
        assertEquals(List.of("-c", "a b", "c\"d", "e f"),
                Launch.tokens("-c 'a b' \"c\\\"d\" e\\ f"));
    }
}

package ioasid.console.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.apache.felix.gogo.runtime.CommandProcessorImpl;
import org.apache.felix.gogo.runtime.threadio.ThreadIOImpl;
import org.apache.felix.service.command.CommandSession;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import ioasid.api.Errno;
import ioasid.api.IoasidException;

/** Statement by statement, as an operator's script runs: results, failures, exit counts. */
class ScriptRunnerTest {
    /** Commands of a toy scope: values to capture, a failing one, one that counts calls. */
    public static final class Toy {
        final List<String> calls = new ArrayList<>();

        public int seven() {
            calls.add("seven");
            return 7;
        }

        public String twice(int n) {
            calls.add("twice " + n);
            return "twice " + n + " is " + (2 * n);
        }

        public void fail() {
            calls.add("fail");
            throw new IoasidException(Errno.EBUSY, "toy is busy");
        }

        public void crash() {
            throw new IllegalStateException("a bug");
        }
    }

    private final ThreadIOImpl tio = new ThreadIOImpl();
    private final Toy toy = new Toy();
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private CommandSession session;
    private ScriptRunner runner;

    @BeforeEach
    void start() {
        tio.start();
        CommandProcessorImpl processor = new CommandProcessorImpl(tio);
        for (String f : new String[] {"seven", "twice", "fail", "crash"}) {
            processor.addCommand("toy", toy, f);
        }
        PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
        session = processor.createSession(InputStream.nullInputStream(), o, e);
        runner = new ScriptRunner(session, o, e);
    }

    @AfterEach
    void stop() {
        session.close();
        tio.stop();
    }

    private List<String> out() {
        return out.toString(StandardCharsets.UTF_8).lines().toList();
    }

    private List<String> err() {
        return err.toString(StandardCharsets.UTF_8).lines().toList();
    }

    @Test
    void printsEveryStatementsResultNotOnlyTheLast() {
        assertEquals(0, runner.run("toy:seven; toy:twice 3\ntoy:seven", () -> false));
        assertEquals(List.of("7", "twice 3 is 6", "7"), out());
        assertEquals(List.of(), err());
    }

    @Test
    void aFailureIsOneLineAndTheNextStatementRuns() {
        assertEquals(2, runner.run("toy:fail; toy:crash; toy:seven", () -> false));
        assertEquals(List.of("EBUSY: toy is busy", "IllegalStateException: a bug"), err());
        assertEquals(List.of("7"), out());
    }

    @Test
    void aCapturedValueIsQuietAndUsable() {
        assertEquals(0, runner.run("n = (toy:seven); toy:twice $n", () -> false));
        assertEquals(List.of("twice 7 is 14"), out());
    }

    @Test
    void andOrFollowTheLastStatement() {
        assertEquals(1, runner.run("toy:fail && toy:seven; toy:fail || toy:twice 1", () -> false));
        assertEquals(List.of("fail", "fail", "twice 1"), toy.calls);
    }

    @Test
    void unknownCommandsAndWrongArgumentsAreOneLine() {
        assertEquals(2, runner.run("toy:nothing; toy:twice 1 2", () -> false));
        List<String> e = err();
        assertEquals(2, e.size(), e.toString());
        assertTrue(e.get(0).startsWith("command not found: toy:nothing"), e.get(0));
        assertTrue(e.get(1).startsWith("EINVAL: twice: wrong number of arguments"), e.get(1));
    }

    @Test
    void aSyntaxErrorRunsNothing() {
        assertEquals(1, runner.run("toy:seven; toy:twice {", () -> false));
        assertTrue(toy.calls.isEmpty(), toy.calls.toString());
        assertTrue(err().get(0).startsWith("syntax error"), err().toString());
    }

    @Test
    void incompleteTextWaitsForMore() {
        assertFalse(ScriptRunner.complete("each [1 2] {"));
        assertTrue(ScriptRunner.complete("toy:seven"));
        assertTrue(ScriptRunner.complete("toy:twice }"), "complete, and wrong");
    }

    @Test
    void stopsBeforeTheNextStatementWhenAsked() {
        assertEquals(0, runner.run("toy:seven; toy:seven; toy:seven",
                () -> toy.calls.size() >= 2));
        assertEquals(2, toy.calls.size());
    }
}

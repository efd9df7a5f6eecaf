package ioasid.testkit.osgi;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Lines recorded in the order they arrived, one per event, safe to read while events arrive;
 * what the lines say depends on the recorder ({@link IoasidEvents}, {@link TopicEvents},
 * {@link Journal}). Close a recorder to unregister what it registered; the framework does so
 * anyway when the test's bundle stops.
 */
public abstract class EventLog implements AutoCloseable {
    private final List<String> lines = new ArrayList<>();

    protected EventLog() {
    }

    /** Records one line. */
    protected final void add(String line) {
        synchronized (lines) {
            lines.add(line);
        }
    }

    /** Every line so far, in order. */
    public final List<String> lines() {
        synchronized (lines) {
            return List.copyOf(lines);
        }
    }

    /** The lines so far that start with the prefix, in order. */
    public final List<String> lines(String prefix) {
        synchronized (lines) {
            return lines.stream().filter(l -> l.startsWith(prefix)).toList();
        }
    }

    /** Whether this very line arrived. */
    public final boolean contains(String line) {
        synchronized (lines) {
            return lines.contains(line);
        }
    }

    /** Forgets the lines so far. */
    public final void clear() {
        synchronized (lines) {
            lines.clear();
        }
    }

    /**
     * Waits until at least {@code count} lines start with the prefix (for events delivered
     * asynchronously) and returns them.
     */
    public final List<String> awaitLines(String prefix, int count) {
        IoasidPlatform.await(count + " lines starting with '" + prefix + "' (have "
                + lines(prefix) + ")", () -> lines(prefix).size() >= count);
        return lines(prefix);
    }

    /** Asserts that the lines so far are exactly these, in this order. */
    public final void assertOrder(String... expected) {
        List<String> got = lines();
        if (!got.equals(Arrays.asList(expected))) {
            throw new AssertionError("expected " + Arrays.asList(expected) + " but got " + got);
        }
    }

    /**
     * Asserts that these lines occur in this order, other lines possibly between them (each
     * expected line matches a later line than the one before it).
     */
    public final void assertInOrder(String... expected) {
        List<String> got = lines();
        int at = 0;
        for (String e : expected) {
            int found = got.subList(at, got.size()).indexOf(e);
            if (found < 0) {
                throw new AssertionError("expected " + Arrays.asList(expected)
                        + " in this order, '" + e + "' missing after position " + at + " in "
                        + got);
            }
            at += found + 1;
        }
    }

    /** Unregisters what the recorder registered; the lines stay readable. */
    @Override
    public abstract void close();

    @Override
    public String toString() {
        return getClass().getSimpleName() + lines();
    }
}

package ioasid.integration.fuzz;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.Random;
import java.util.function.LongConsumer;
import java.util.function.Supplier;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.iommu.IommuService;

/**
 * What the fuzz and isolation suites share, in plain Java so it also runs inside Felix (the
 * Pax Exam probe has no JUnit 5): seeds, hostile values, and the check that a call either
 * succeeds or fails with an allowed errno and leaves the observable state as it was.
 *
 * <p>Seeds: each run draws a random base seed and prints it when a run fails;
 * {@code -Dioasid.fuzz.seed=N} replays exactly that run, {@code -Dioasid.fuzz.runs=N} and
 * {@code -Dioasid.fuzz.steps=N} make the runs more or longer.
 */
public final class Fuzz {
    /** Runs per test in the CI budget. */
    public static final int RUNS = Integer.getInteger("ioasid.fuzz.runs", 0);
    /** Steps per run in the CI budget; each suite picks its default when this is 0. */
    public static final int STEPS = Integer.getInteger("ioasid.fuzz.steps", 0);

    private Fuzz() {
    }

    public static int runs(int ciDefault) {
        return Long.getLong("ioasid.fuzz.seed") != null ? 1 : RUNS > 0 ? RUNS : ciDefault;
    }

    public static int steps(int ciDefault) {
        return STEPS > 0 ? STEPS : ciDefault;
    }

    /**
     * Runs {@code runs} seeded runs; a failure names its seed and how to replay it.
     */
    public static void seeded(String suite, int runs, LongConsumer run) {
        Long only = Long.getLong("ioasid.fuzz.seed");
        long base = only != null ? only : new Random().nextLong();
        for (int i = 0; i < runs; i++) {
            long seed = base + i;
            try {
                run.accept(seed);
            } catch (AssertionError | RuntimeException e) {
                throw failure(suite + " failed with seed " + seed + "; replay with -Dioasid.fuzz.seed="
                        + seed + " -Dit.test=" + suite + ": " + e.getMessage(), e);
            }
        }
    }

    /**
     * An AssertionError with {@code cause}'s stack but without the cause itself: Pax Exam reports
     * only the innermost throwable of a failure in the framework, which would drop the seed and
     * the step from the message.
     */
    public static AssertionError failure(String message, Throwable cause) {
        AssertionError e = new AssertionError(message);
        e.setStackTrace(cause.getStackTrace());
        return e;
    }

    /** Integers that break careless code: signs, the 20-bit edge, the int extremes. */
    public static final int[] EDGE_INTS = {0, 1, 2, -1, -2, 0xFFFFE, 0xFFFFF, 0x100000, 0x100001,
        0x7FFFFF, 0xFFFFFF, 1 << 30, Integer.MAX_VALUE, Integer.MAX_VALUE - 1, Integer.MIN_VALUE,
        Integer.MIN_VALUE + 1, -0x100000};

    /** Longs for addresses and sizes: unaligned, huge, the extremes, the sign bit. */
    public static final long[] EDGE_LONGS = {0, 1, 0xFFF, 0x1000, 0x1001, 0x2000, 0x200000,
        0x1FFFFF, 0x40000000, 1L << 32, 1L << 39, 1L << 47, 1L << 48, (1L << 48) - 0x1000,
        (1L << 52) - 0x1000, 1L << 62, Long.MAX_VALUE, Long.MAX_VALUE - 0xFFF, Long.MIN_VALUE,
        -1, -0x1000, 0xFFFFFFFFFFFFF000L, 0x7FFFFFFFFFFFF000L};

    public static int anInt(Random rnd) {
        switch (rnd.nextInt(4)) {
            case 0:
                return EDGE_INTS[rnd.nextInt(EDGE_INTS.length)];
            case 1:
                return rnd.nextInt();
            case 2:
                return rnd.nextInt(1 << 20);
            default:
                return rnd.nextInt(64) - 8;
        }
    }

    public static long aLong(Random rnd) {
        switch (rnd.nextInt(4)) {
            case 0:
                return EDGE_LONGS[rnd.nextInt(EDGE_LONGS.length)];
            case 1:
                return rnd.nextLong();
            case 2:
                return (long) rnd.nextInt(1 << 20) << 12; // page aligned, below 4 GiB
            default:
                return rnd.nextInt(1 << 16) * 0x10L;
        }
    }

    /**
     * Text that a shell user might type by mistake or on purpose: numbers in every form,
     * control characters, unicode, huge numbers, hex without digits. Never a quote or a
     * backslash, so it can stand inside single quotes in a Gogo script.
     */
    public static String garbage(Random rnd) {
        String[] pieces = {"", " ", "0x", "0X", "-", "+", "x", "--", "0x-1", "1e9", "1.5", "NaN",
            "null", "\t", "%s", "%n", "$x", "${x}", "(", ")", "{", "}", "[", "]", "|", ";", "&",
            "<", ">", "*", "?", "~", "é", "\u00a0", "\u200b", "漢字", "\u0000", "\u001b[2J",
            "9999999999999999999999", "-9223372036854775809", "0xFFFFFFFFFFFFFFFFF",
            "0x8000000000000000", "2147483648", "-2147483649", "4294967296", "1048576", "1048575",
            "0", "1", "-1", "01", "0b101", "１２３", "..", "/", "vm1", "MM", "NONE", "mm", "r",
            "w", "ep1", "0000:00:01.0", "smmu0"};
        StringBuilder sb = new StringBuilder();
        int n = 1 + rnd.nextInt(3);
        for (int i = 0; i < n; i++) {
            sb.append(pieces[rnd.nextInt(pieces.length)]);
        }
        if (rnd.nextInt(8) == 0) {
            sb.append(Long.toString(rnd.nextLong()));
        }
        return sb.toString();
    }

    /** A number as a shell user might write it: decimal, hex, or one of the edges. */
    public static String numberText(Random rnd) {
        long v = rnd.nextInt(3) == 0 ? EDGE_LONGS[rnd.nextInt(EDGE_LONGS.length)]
                : EDGE_INTS[rnd.nextInt(EDGE_INTS.length)];
        if (rnd.nextInt(4) == 0) {
            v = rnd.nextInt(40);
        }
        return rnd.nextBoolean() ? Long.toString(v) : "0x" + Long.toHexString(v);
    }

    public static EnumSet<Errno> none() {
        return EnumSet.noneOf(Errno.class);
    }

    /** The outcome of one checked call: its value, or the errno it failed with. */
    public static final class Outcome<T> {
        public final T value;
        public final Errno errno;

        Outcome(T value, Errno errno) {
            this.value = value;
            this.errno = errno;
        }

        public boolean ok() {
            return errno == null;
        }

        /** Runs {@code then} with the value when the call succeeded. */
        public Outcome<T> ifOk(java.util.function.Consumer<T> then) {
            if (errno == null) {
                then.accept(value);
            }
            return this;
        }
    }

    /**
     * Calls {@code op}. With {@code allowed} empty it must succeed; otherwise it must fail with an
     * IoasidException whose errno is in {@code allowed}, and {@code state} must read the same
     * before and after (a failed call changes nothing). Anything else thrown is a failure.
     */
    public static <T> Outcome<T> call(String what, EnumSet<Errno> allowed, Supplier<String> state,
            Supplier<T> op) {
        String before = state.get();
        T value;
        try {
            value = op.get();
        } catch (IoasidException e) {
            if (allowed.isEmpty()) {
                throw failure(what + ": expected success, got " + e.getMessage(), e);
            }
            if (!allowed.contains(e.errno())) {
                throw failure(what + ": errno " + e.errno() + " is not one of "
                        + allowed + " (" + e.getMessage() + ")", e);
            }
            String after = state.get();
            if (!before.equals(after)) {
                throw new AssertionError(what + " failed with " + e.errno()
                        + " but changed the state:\nbefore " + before + "\nafter  " + after);
            }
            return new Outcome<>(null, e.errno());
        } catch (RuntimeException e) {
            throw failure(what + ": threw " + e + " instead of an IoasidException", e);
        }
        if (!allowed.isEmpty()) {
            throw new AssertionError(what + ": expected one of " + allowed + ", got success: "
                    + value);
        }
        return new Outcome<>(value, null);
    }

    /** Calls {@code op}, which may succeed or fail with an allowed errno; returns which. */
    public static <T> Outcome<T> either(String what, EnumSet<Errno> allowed, Supplier<String> state,
            Supplier<T> op) {
        String before = state.get();
        try {
            return new Outcome<>(op.get(), null);
        } catch (IoasidException e) {
            if (!allowed.contains(e.errno())) {
                throw failure(what + ": errno " + e.errno() + " is not one of "
                        + allowed + " (" + e.getMessage() + ")", e);
            }
            String after = state.get();
            if (!before.equals(after)) {
                throw new AssertionError(what + " failed with " + e.errno()
                        + " but changed the state:\nbefore " + before + "\nafter  " + after);
            }
            return new Outcome<>(null, e.errno());
        } catch (RuntimeException e) {
            throw failure(what + ": threw " + e + " instead of an IoasidException", e);
        }
    }

    public static String str(Object[] dtos) {
        return Arrays.toString(dtos);
    }

    public static void check(boolean condition, String message) {
        if (!condition) {
            throw new AssertionError(message);
        }
    }

    public static void same(Object expected, Object actual, String message) {
        if (!java.util.Objects.equals(expected, actual)) {
            throw new AssertionError(message + ": expected <" + expected + "> but was <" + actual
                    + ">");
        }
    }

    /** What an IOMMU service holds, without naming any backend class (safe inside Felix). */
    static String snapshot(IommuService iommu) {
        return str(iommu.groups()) + str(iommu.domains()) + str(iommu.pasids())
                + str(iommu.viommus()) + str(iommu.devices());
    }
}

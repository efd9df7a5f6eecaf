package ioasid.runtime.impl;

import java.util.function.BooleanSupplier;

import org.osgi.service.log.LogEntry;
import org.osgi.service.log.LogLevel;
import org.osgi.service.log.LogListener;

/**
 * What the framework's own bundles (SCR, Config Admin, Event Admin, FileInstall) log through
 * the OSGi Log Service, printed as the platform prints: one line per entry, warnings and errors
 * only, an exception as its message and causes rather than a stack trace (unless
 * {@code -Dioasid.log.stacktraces=true}). While the framework stops in order only errors are
 * printed: Event Admin, stopped under events still in flight, warns of nothing that matters then.
 * Nor are two errors that only say something stopped first: the framework's report that a
 * service factory gave no service (a component being disposed answers null to a bundle still
 * looking it up: the HTTP server, stopped while it starts), and Config Admin's that a bundle's
 * context was invalid when it delivered an update (the Web Console's, stopped before a late
 * delivery of its credentials).
 */
final class OsgiLog implements LogListener {
    static final String STACK_TRACES = "ioasid.log.stacktraces";

    private final BooleanSupplier stopping;

    OsgiLog(BooleanSupplier stopping) {
        this.stopping = stopping;
    }

    @Override
    public void logged(LogEntry entry) {
        String line = line(entry, stopping.getAsBoolean());
        if (line != null) {
            System.err.println(line);
            if (entry.getException() != null && Boolean.getBoolean(STACK_TRACES)) {
                entry.getException().printStackTrace();
            }
        }
    }

    /** The line to print for the entry, or null when it is not printed. */
    static String line(LogEntry entry, boolean stopping) {
        LogLevel level = entry.getLogLevel();
        if (level != LogLevel.ERROR && (level != LogLevel.WARN || stopping)) {
            return null;
        }
        if (stopping && stoppedFirst(entry)) {
            return null;
        }
        StringBuilder sb = new StringBuilder(level == LogLevel.ERROR ? "ERROR: " : "WARNING: ");
        String bsn = entry.getBundle() == null ? null : entry.getBundle().getSymbolicName();
        if (bsn != null) {
            sb.append(bsn).append(": ");
        }
        sb.append(entry.getMessage());
        for (Throwable t = entry.getException(); t != null; t = t.getCause()) {
            sb.append(t == entry.getException() ? ": " : "; caused by ").append(t);
            if (t.getCause() == t) {
                break;
            }
        }
        if (entry.getException() != null && !Boolean.getBoolean(STACK_TRACES)) {
            sb.append(" (-D" + STACK_TRACES + "=true prints the stack trace)");
        }
        return sb.toString();
    }

    /** The Log Service hands on a framework event's exception by its text alone. */
    private static boolean stoppedFirst(LogEntry entry) {
        Throwable t = entry.getException();
        if (t == null) {
            return false;
        }
        String message = String.valueOf(entry.getMessage());
        String bsn = entry.getBundle() == null ? "" : entry.getBundle().getSymbolicName();
        return message.startsWith("FrameworkEvent ERROR")
                        && String.valueOf(t).contains(FACTORY_NULL)
                || "org.apache.felix.configadmin".equals(bsn)
                        && message.contains("Unexpected problem updating configuration")
                        && String.valueOf(t).contains(INVALID_CONTEXT);
    }

    static final String FACTORY_NULL = "ServiceException: Service factory returned null";
    static final String INVALID_CONTEXT = "IllegalStateException: Invalid BundleContext";
}

package ioasid.runtime.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.lang.reflect.Proxy;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.service.log.LogEntry;
import org.osgi.service.log.LogLevel;

/** The framework's log entries as an operator reads them. */
class OsgiLogTest {
    private static LogEntry entry(LogLevel level, String message, Throwable t) {
        return entry("org.apache.felix.eventadmin", level, message, t);
    }

    private static LogEntry entry(String bsn, LogLevel level, String message, Throwable t) {
        Bundle b = (Bundle) Proxy.newProxyInstance(Bundle.class.getClassLoader(),
                new Class<?>[] {Bundle.class}, (p, m, a) -> m.getName().equals("getSymbolicName")
                        ? bsn : null);
        return (LogEntry) Proxy.newProxyInstance(LogEntry.class.getClassLoader(),
                new Class<?>[] {LogEntry.class}, (p, m, a) -> {
                    switch (m.getName()) {
                        case "getLogLevel": return level;
                        case "getMessage": return message;
                        case "getException": return t;
                        case "getBundle": return b;
                        default: return null;
                    }
                });
    }

    @Test
    @DisplayName("warnings and errors are one line with the bundle; exceptions as their causes")
    void lines() {
        assertEquals("WARNING: org.apache.felix.eventadmin: handler slow",
                OsgiLog.line(entry(LogLevel.WARN, "handler slow", null), false));
        assertEquals("ERROR: org.apache.felix.eventadmin: failed: java.lang.IllegalStateException:"
                + " outer; caused by java.io.IOException: inner (-Dioasid.log.stacktraces=true "
                + "prints the stack trace)", OsgiLog.line(entry(LogLevel.ERROR, "failed",
                        new IllegalStateException("outer", new java.io.IOException("inner"))),
                        false));
        assertNull(OsgiLog.line(entry(LogLevel.INFO, "started", null), false));
        assertNull(OsgiLog.line(entry(LogLevel.DEBUG, "details", null), false));
    }

    @Test
    @DisplayName("while the framework stops in order, only errors are printed")
    void stopping() {
        assertNull(OsgiLog.line(entry(LogLevel.WARN, "Event Task Processing Interrupted", null),
                true));
        assertEquals("ERROR: org.apache.felix.eventadmin: broken",
                OsgiLog.line(entry(LogLevel.ERROR, "broken", null), true));
    }

    @Test
    @DisplayName("a service factory that gives nothing is news while running, not while stopping")
    void factoryWithoutService() {
        Throwable t = new RuntimeException(
                "org.osgi.framework.ServiceException: Service factory returned null.");
        assertNull(OsgiLog.line(entry(LogLevel.ERROR, "FrameworkEvent ERROR", t), true));
        assertEquals("ERROR: org.apache.felix.eventadmin: FrameworkEvent ERROR: "
                + "java.lang.RuntimeException: org.osgi.framework.ServiceException: Service "
                + "factory returned null. (-Dioasid.log.stacktraces=true prints the stack trace)",
                OsgiLog.line(entry(LogLevel.ERROR, "FrameworkEvent ERROR", t), false));
        assertEquals("ERROR: org.apache.felix.eventadmin: FrameworkEvent ERROR: "
                + "java.lang.IllegalStateException: other (-Dioasid.log.stacktraces=true prints "
                + "the stack trace)", OsgiLog.line(entry(LogLevel.ERROR, "FrameworkEvent ERROR",
                        new IllegalStateException("other")), true));
    }

    @Test
    @DisplayName("a late configuration update to a stopped bundle is news only while running")
    void updateToAStoppedBundle() {
        String cm = "org.apache.felix.configadmin";
        String message = "[org.osgi.service.cm.ManagedService, id=105, unregistered]: Unexpected "
                + "problem updating configuration org.apache.felix.webconsole.internal.servlet."
                + "OsgiManager";
        Throwable t = new RuntimeException(
                "java.lang.IllegalStateException: Invalid BundleContext.");
        assertNull(OsgiLog.line(entry(cm, LogLevel.ERROR, message, t), true));
        assertEquals("ERROR: " + cm + ": " + message + ": " + t + " (-Dioasid.log.stacktraces=true"
                + " prints the stack trace)", OsgiLog.line(entry(cm, LogLevel.ERROR, message, t),
                        false));
        // the same text from another bundle, or another failure from Config Admin, is printed
        assertEquals("ERROR: org.apache.felix.eventadmin: " + message + ": " + t
                + " (-Dioasid.log.stacktraces=true prints the stack trace)",
                OsgiLog.line(entry(LogLevel.ERROR, message, t), true));
        Throwable other = new IllegalArgumentException("bad value");
        assertEquals("ERROR: " + cm + ": " + message + ": " + other
                + " (-Dioasid.log.stacktraces=true prints the stack trace)",
                OsgiLog.line(entry(cm, LogLevel.ERROR, message, other), true));
    }
}

package ioasid.core.config;

import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/** The lines a logger printed while open, as "LEVEL message". */
public final class LogLines extends Handler {
    private final Logger logger;
    private final List<String> lines = new ArrayList<>();
    private Level before;

    public LogLines(String name) {
        this.logger = Logger.getLogger(name);
    }

    /** Listens at every level, whatever the tests' logging configuration turned off. */
    public void open() {
        before = logger.getLevel();
        logger.setLevel(Level.ALL);
        logger.setUseParentHandlers(false);
        logger.addHandler(this);
    }

    public synchronized List<String> lines() {
        return List.copyOf(lines);
    }

    @Override
    public synchronized void publish(LogRecord r) {
        lines.add(r.getLevel() + " " + r.getMessage());
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
        logger.removeHandler(this);
        logger.setUseParentHandlers(true);
        logger.setLevel(before);
    }
}

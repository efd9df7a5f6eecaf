package ioasid.health.impl;

import java.util.ArrayList;
import java.util.List;

import org.apache.felix.hc.api.Result;
import org.apache.felix.hc.api.ResultLog;

/**
 * What one execution of a check found: one line per problem, each saying what is wrong and what
 * to do, and one OK line when nothing is. The result's status is the worst line's. Plain
 * {@link ResultLog} entries, not the formatting log: names an operator chose (an instance, a
 * listener) may hold braces, which a format would eat.
 */
final class Findings {
    private final List<ResultLog.Entry> problems = new ArrayList<>();

    void critical(String line) {
        problems.add(new ResultLog.Entry(Result.Status.CRITICAL, line));
    }

    void warn(String line) {
        problems.add(new ResultLog.Entry(Result.Status.WARN, line));
    }

    /** A configuration the platform refused: the check runs on its defaults and says so. */
    void refused(CheckSettings settings) {
        if (settings.problem() != null) {
            warn(settings.source() + ": " + settings.problem() + "; the defaults are used");
        }
    }

    boolean isEmpty() {
        return problems.isEmpty();
    }

    /** The result: the problems, or the one line saying all is well. */
    Result result(String ok) {
        ResultLog log = new ResultLog();
        if (problems.isEmpty()) {
            log.add(new ResultLog.Entry(Result.Status.OK, ok));
        }
        for (ResultLog.Entry e : problems) {
            log.add(e);
        }
        return new Result(log);
    }
}

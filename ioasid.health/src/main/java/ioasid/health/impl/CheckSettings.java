package ioasid.health.impl;

import java.util.Map;

import ioasid.api.iommu.spi.BackendConfigurations;

/**
 * Where a check's configuration came from and what the platform's configuration checker refused
 * in it. The checker removes a refused value, so the check sees its default; without this the
 * operator's mistake would go unnoticed.
 */
final class CheckSettings {
    private static final System.Logger LOG = System.getLogger("ioasid.health");

    private final String source;
    private final String problem;

    private CheckSettings(String source, String problem) {
        this.source = source;
        this.problem = problem;
    }

    /** Reads the component's properties and logs a refusal in one line. */
    static CheckSettings of(String name, Map<String, Object> properties) {
        CheckSettings s = new CheckSettings(BackendConfigurations.source(properties),
                BackendConfigurations.problem(properties));
        if (s.problem != null) {
            LOG.log(System.Logger.Level.WARNING, s.source + ": " + s.problem + "; health check "
                    + name + " uses the defaults");
        }
        return s;
    }

    String source() {
        return source;
    }

    String problem() {
        return problem;
    }
}

package ioasid.core.config;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import org.osgi.framework.BundleContext;

import ioasid.api.iommu.spi.BackendConfigurations;

/*
 * The configuration of a core component (one per platform, no instance to list as FAILED) as its
 * Metatype definition allows it. A refused value is named in one line, with the file it came
 * from, and the component runs on that attribute's default: refusing the whole configuration
 * would take the core, and everything bound to it, down for one mistyped value.
 *
 * The checker (ConfigurationChecker) normally removes such a value on its way and leaves its
 * verdict; when Config Admin delivered the configuration before the checker was registered (it
 * lives in the same bundle as the cores), the values are checked here against the same rules.
 */
public final class CoreSettings {
    private static final System.Logger LOG = System.getLogger("ioasid.core");

    private CoreSettings() {
    }

    /**
     * The keys whose values the component must not use, reported in one line naming the source,
     * each value and why, and then {@code consequence} ("the IOMMU core uses their defaults").
     */
    public static Set<String> refused(BundleContext context, String pid,
            Map<String, Object> properties, String consequence) {
        Map<String, String> refusals = ConfigurationChecker.refusals(context.getBundle(), pid,
                properties);
        Set<String> keys = new TreeSet<>(refusals.keySet());
        List<String> reasons = new ArrayList<>(refusals.values());
        String verdict = BackendConfigurations.problem(properties);
        if (verdict != null) {
            reasons.add(verdict);
            for (String problem : verdict.split("; ")) {
                int eq = problem.indexOf('=');
                if (eq > 0) {
                    keys.add(problem.substring(0, eq));
                }
            }
        }
        if (!reasons.isEmpty()) {
            Collections.sort(reasons);
            LOG.log(System.Logger.Level.WARNING, BackendConfigurations.source(properties) + ": "
                    + String.join("; ", reasons) + "; " + consequence);
        }
        return keys;
    }
}

package ioasid.api.iommu.spi;

import java.util.Map;

/**
 * What backend components share about their configurations: where one came from, for the one
 * line an operator reads when it is refused, and the verdict of the platform's configuration
 * checker, which validates every configuration against its Metatype definition before the
 * component sees it.
 */
public final class BackendConfigurations {
    /**
     * Configuration property the checker sets when a value does not fit the Metatype definition:
     * the problems, one sentence each. The offending properties are removed, so the component
     * sees their defaults and must not start from them.
     */
    public static final String PROBLEM = "ioasid.config.problem";

    /** Configuration property Felix FileInstall sets: the file a configuration came from. */
    public static final String FILE = "felix.fileinstall.filename";

    private BackendConfigurations() {
    }

    /** The checker's verdict on a configuration's properties, or null. */
    public static String problem(Map<String, ?> properties) {
        Object p = properties == null ? null : properties.get(PROBLEM);
        return p == null ? null : p.toString();
    }

    /**
     * Where the configuration came from, as an operator names it: the file's path relative to
     * the working directory when FileInstall read it, else its PID.
     */
    public static String source(Map<String, ?> properties) {
        Object file = properties == null ? null : properties.get(FILE);
        if (file != null) {
            String f = file.toString();
            if (f.startsWith("file:")) {
                f = f.substring("file:".length());
            }
            String cwd = System.getProperty("user.dir");
            if (cwd != null && f.startsWith(cwd + "/")) {
                f = f.substring(cwd.length() + 1);
            }
            return f;
        }
        Object pid = properties == null ? null : properties.get("service.pid");
        return pid == null ? "configuration" : "configuration " + pid;
    }
}

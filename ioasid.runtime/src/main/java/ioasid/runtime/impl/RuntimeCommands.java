package ioasid.runtime.impl;

import java.io.IOException;

import org.apache.felix.service.command.Descriptor;

import ioasid.api.Errno;
import ioasid.api.IoasidException;

/** The {@code runtime} Gogo scope: the runtime's own contents of deploy/. */
public final class RuntimeCommands {
    static final String SCOPE = "runtime";
    static final String[] FUNCTIONS = {"restore"};

    private final DeployFolder deploy;

    RuntimeCommands(DeployFolder deploy) {
        this.deploy = deploy;
    }

    @Descriptor("put the runtime's own backend jars back into deploy/ (in place of any other"
            + " build of them) and write each default configuration that is missing; lists what"
            + " it wrote")
    public String restore() throws IoasidException {
        try {
            return String.join("\n", deploy.restore());
        } catch (IOException e) {
            throw new IoasidException(Errno.EIO, "restore: cannot write deploy/: "
                    + BundleInstaller.reason(e) + " (files written before it stay)");
        }
    }
}

package ioasid.remote.impl;

/* The host's console command remote:guests (a Gogo command by service properties). */
public final class HostCommands {
    private final HostService service;
    private final String endpoint;

    HostCommands(HostService service, String endpoint) {
        this.service = service;
        this.endpoint = endpoint;
    }

    /** Lists the guests this host admits: set, session, IDs held. */
    public String guests() {
        StringBuilder b = new StringBuilder("host " + endpoint + ", epoch "
                + Long.toHexString(service.epoch()));
        for (String line : service.describe()) {
            b.append('\n').append(line);
        }
        return b.toString();
    }
}

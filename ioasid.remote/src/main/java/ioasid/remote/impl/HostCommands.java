package ioasid.remote.impl;

import java.util.Arrays;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.IoasidSet;
import ioasid.api.dto.SetExportDTO;
import ioasid.api.dto.SetExportFile;

/*
 * The host's console commands (Gogo commands by service properties): remote:guests, and the
 * migration of a guest's set between hosts, in the set file format of ioasid:exportset:
 *   old host: remote:export vm1 /shared/vm1.set   (the guest is frozen here)
 *   new host: remote:import /shared/vm1.set
 *   guest:    point deploy/ioasid.remote.guest.config at the new host
 *   old host: remote:release vm1                  (or remote:resume vm1 to undo)
 */
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

    /** Writes a guest's set to a file for remote:import on another host; freezes it here. */
    public String export(String guest, String file) {
        long start = System.nanoTime();
        // before the guest is frozen: most mistakes cost the guest nothing
        SetExportFile.checkWritable(file);
        SetExportDTO state = service.export(guest);
        try {
            SetExportFile.save(state, file);
        } catch (IoasidException e) {
            service.resume(guest); // nothing was written: the guest may stay here
            throw e;
        }
        return String.format("guest %s: set %d with %d IDs exported to %s in %.1f ms; this host "
                + "refuses the guest until remote:release %s (or remote:resume %s)", guest,
                state.setId, state.members.length, file, ms(start), guest, guest);
    }

    /** Recreates a guest's set from a file remote:export wrote on another host. */
    public String _import(String file) {
        long start = System.nanoTime();
        SetExportDTO state = SetExportFile.load(file);
        IoasidSet set = service.importGuest(state);
        return String.format("%s: set %d with %d IDs imported from %s in %.1f ms, every SPID kept",
                state.token.substring(HostService.TOKEN_PREFIX.length()), set.id(),
                state.members.length, file, ms(start));
    }

    /** Lets the guest open sessions here again after an export that was not imported. */
    public String resume(String guest) {
        service.resume(guest);
        return "guest " + guest + " may open sessions on this host again";
    }

    /** Frees a guest's set and IDs here (the end of a migration, or a forced reset). */
    public String release(String guest) {
        int n = service.release(guest);
        return "guest " + guest + " released: " + n + " IDs and its set freed on this host";
    }

    /** Takes PASIDs (by SPID) away from a guest; the guest is told and loses them. */
    public String revoke(String guest, int... spids) {
        if (spids.length == 0) {
            throw new IoasidException(Errno.EINVAL, "no SPID to revoke");
        }
        service.revoke(guest, spids);
        return "guest " + guest + ": " + Arrays.toString(spids) + " revoked";
    }

    private static double ms(long start) {
        return (System.nanoTime() - start) / 1e6;
    }
}

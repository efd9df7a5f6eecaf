package ioasid.shell.impl;

import java.util.Arrays;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.apache.felix.service.command.annotations.GogoCommand;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.IoasidService;
import ioasid.api.IoasidSet;
import ioasid.api.SetState;
import ioasid.api.dto.SetDTO;
import ioasid.api.dto.SetExportDTO;
import ioasid.api.dto.SetMemberDTO;
import ioasid.api.dto.SetExportFile;
import ioasid.shell.impl.Args.Count;
import ioasid.shell.impl.Args.SetNumber;

/**
 * The live migration of a set for an operator (decision D36): export a set of one IOASID space
 * to a file, free it there, import the file into another space. The spaces are the platform's
 * own, named {@code platform}, and each host space by its {@code ioasid.host.name}. A script:
 *
 * <pre>
 * f = (ioasid:exportset 2 vm1.set)
 * ioasid:freeset 2
 * ioasid:importset -s host $f
 * </pre>
 */
@Component(service = MigrationCommands.class)
@GogoCommand(scope = "ioasid", function = {"exportset", "importset", "freeset"})
public final class MigrationCommands {
    static final String PLATFORM = "platform";
    static final String HOST_NAME = "ioasid.host.name";
    private static final String SPACE = "the IOASID space: platform (the default) or a host "
            + "space's name";
    private static final String SET = "the set, by number (ioasid:sets lists the platform's)";

    @Reference(target = "(!(ioasid.role=host))")
    IoasidService ioasid;

    /** Host spaces by name; bound and unbound as they come and go. */
    private final Map<String, IoasidService> hosts = new ConcurrentHashMap<>();

    @Reference(service = IoasidService.class, target = "(ioasid.role=host)",
            cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindHost(IoasidService host, Map<String, Object> props) {
        hosts.put(String.valueOf(props.getOrDefault(HOST_NAME, "host")), host);
    }

    void unbindHost(IoasidService host, Map<String, Object> props) {
        hosts.remove(String.valueOf(props.getOrDefault(HOST_NAME, "host")), host);
    }

    private IoasidService space(String name) {
        if (PLATFORM.equals(name)) {
            return ioasid;
        }
        IoasidService s = hosts.get(name);
        if (s == null) {
            throw new IoasidException(Errno.ENOENT, "no IOASID space '" + name + "'; there are: "
                    + PLATFORM + (hosts.isEmpty() ? "" : ", " + String.join(", ",
                            new TreeSet<>(hosts.keySet()))));
        }
        return s;
    }

    private static String describe(String type, String token) {
        return type + (token == null ? "" : " " + token);
    }

    @Descriptor("export a set to a file, for ioasid:importset; the set stays until freed "
            + "(ioasid:freeset)")
    public Reply exportset(
            @Descriptor(SPACE) @Parameter(names = {"-s", "--space"}, absentValue = PLATFORM)
            String space,
            @Descriptor(SET) SetNumber set,
            @Descriptor("the file to write; an existing one is replaced") String file) {
        IoasidService sp = space(space);
        SetExportDTO d = sp.exportSet(sp.findSet(set.value()));
        SetExportFile.save(d, file);
        String text = "set " + d.setId + " (" + describe(d.tokenType, d.token) + ") of " + space
                + " exported to " + file + ": " + d.members.length + " IDs";
        if (d.freePendingIds.length > 0) {
            text += "; " + d.freePendingIds.length + " FREE_PENDING left behind: "
                    + Shell.ranges(d.freePendingIds, 200);
        }
        return Reply.of(text, file);
    }

    @Descriptor("import a set from a file that ioasid:exportset wrote; every SPID is kept, "
            + "an ID taken in this space gets the lowest free one")
    public Reply importset(@Descriptor("how many rows of SPID, old ID and new ID to show")
            @Parameter(names = {"-l", "--limit"}, absentValue = "100") Count limit,
            @Descriptor(SPACE) @Parameter(names = {"-s", "--space"}, absentValue = PLATFORM)
            String space,
            @Descriptor("the file ioasid:exportset wrote") String file) {
        IoasidService sp = space(space);
        SetExportDTO d = SetExportFile.load(file);
        IoasidSet t = sp.importSet(d);
        int rows = limit.value(1, Integer.MAX_VALUE);
        Table table = new Table("SPID", "OLD", "NEW");
        int kept = 0;
        int shown = 0;
        for (SetMemberDTO m : d.members) {
            int now = sp.findBySpid(t, m.spid, false).id();
            kept += now == m.id ? 1 : 0;
            if (shown++ < rows) {
                table.row(m.spid, m.id, now);
            }
        }
        int n = d.members.length;
        String text = "set " + t.id() + " (" + describe(d.tokenType, d.token) + ") imported into "
                + space + " from " + file + ": " + n + " IDs, " + kept + " kept their ID, "
                + (n - kept) + " got a new one";
        if (n > 0) {
            text += "\n" + table + (n > rows ? "\n(" + rows + " of " + n
                    + " shown; --limit shows more)" : "");
        }
        return Reply.of(text, t.id());
    }

    @Descriptor("free every IOASID of a set (rule 77), then the set: the source's side of a "
            + "migration; one that references keep goes with its last ID")
    public Reply freeset(
            @Descriptor(SPACE) @Parameter(names = {"-s", "--space"}, absentValue = PLATFORM)
            String space,
            @Descriptor(SET) SetNumber set) {
        IoasidService sp = space(space);
        IoasidSet s = sp.findSet(set.value());
        SetDTO dto = Arrays.stream(sp.sets()).filter(x -> x.id == s.id()).findFirst()
                .orElse(null);
        if (dto != null && dto.owner != null) {
            // checked first: freeing the IDs and then failing on the set would change something
            throw new IoasidException(Errno.EPERM, "set " + s.id() + " belongs to " + dto.owner
                    + ", which alone may free it");
        }
        boolean pending = dto != null && SetState.FREE_PENDING.name().equals(dto.state);
        int freed = sp.freeAllInSet(s);
        // a set already FREE_PENDING goes with its last ID (rule 65): freeing it again would
        // fail after its IDs were freed
        boolean now = pending ? s.state() == SetState.FREED : sp.freeSet(s);
        return Reply.text("set " + s.id() + " of " + space + ": " + freed + " IDs freed; "
                + (now ? "set freed" : "FREE_PENDING until its last " + s.size()
                        + " IDs are put"));
    }
}

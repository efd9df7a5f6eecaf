package ioasid.remote.impl;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Dictionary;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

import ioasid.api.Errno;
import ioasid.api.IoasidException;

/*
 * remote:connect: points the guest at another host by changing its configuration where it came
 * from, so that the change outlives a restart. A configuration read from a file (the runtime's
 * deploy/, Karaf's etc/; property felix.fileinstall.filename) gets its host line rewritten and
 * the runtime applies the file as if the operator had edited it; any other is updated in Config
 * Admin. Either way the guest follows through @Modified, in place (RemoteGuest).
 */
final class GuestPointer {
    static final String FILENAME = "felix.fileinstall.filename";
    private static final Pattern HOST_LINE = Pattern.compile("(?m)^host[ \\t]*[=:].*$");

    private final ConfigurationAdmin cm;

    GuestPointer(ConfigurationAdmin cm) {
        this.cm = cm;
    }

    /** Points the guest at host:port; EINVAL for another form, EIO when it cannot be written. */
    String pointAt(String target) throws IOException {
        String wrong = RemoteGuest.wrongHost(target);
        if (wrong != null) {
            throw new IoasidException(Errno.EINVAL, wrong);
        }
        Configuration c = cm.getConfiguration(RemoteGuest.PID, "?");
        Dictionary<String, Object> props = c.getProperties();
        if (props == null) {
            throw new IoasidException(Errno.ENOENT, "no configuration " + RemoteGuest.PID);
        }
        Object file = props.get(FILENAME);
        if (file == null) {
            props.put("host", target);
            c.update(props);
            return "configuration " + RemoteGuest.PID + " now names host " + target;
        }
        Path path = Path.of(URI.create(file.toString()));
        rewrite(path, target);
        return path.getFileName() + " now names host " + target + "; the guest moves when "
                + "the runtime applies it";
    }

    /** The file with its host line replaced (or added), written whole, never half. */
    static void rewrite(Path path, String target) {
        boolean cfg = path.getFileName().toString().endsWith(".cfg");
        String line = cfg ? "host=" + target : "host=\"" + target + "\"";
        try {
            String text = Files.readString(path, StandardCharsets.UTF_8);
            Matcher m = HOST_LINE.matcher(text);
            String next = m.find() ? text.substring(0, m.start()) + line + text.substring(m.end())
                    : text + (text.isEmpty() || text.endsWith("\n") ? "" : "\n") + line + "\n";
            Path tmp = path.resolveSibling(path.getFileName() + ".next");
            Files.writeString(tmp, next, StandardCharsets.UTF_8);
            Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING,
                    StandardCopyOption.ATOMIC_MOVE);
        } catch (AccessDeniedException e) {
            throw new IoasidException(Errno.EACCES, "cannot write " + path + ": permission denied");
        } catch (IOException e) {
            throw new IoasidException(Errno.EIO, "cannot write " + path + ": " + e.getMessage());
        }
    }
}

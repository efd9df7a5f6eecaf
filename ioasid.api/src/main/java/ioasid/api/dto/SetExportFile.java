package ioasid.api.dto;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;

import ioasid.api.Errno;
import ioasid.api.IoasidException;

/**
 * The file a {@link SetExportDTO} is written to and read from, by the shell's
 * {@code ioasid:exportset} and {@code ioasid:importset} and by a remote host's
 * {@code remote:export} and {@code remote:import} alike: plain UTF-8 text, one item per line in a
 * fixed order, versioned by its first line. Reading accepts nothing else: no blank lines, no
 * comments, no extra spaces, no line missing, repeated or added. The format, as
 * docs/operator-guide.md describes it:
 *
 * <pre>
 * ioasid-set 1
 * set 2
 * type NONE
 * token vm1
 * owner -
 * quota 100
 * bits 20
 * members 3
 * member 5 101 IDLE 1
 * member 6 6 IDLE 1
 * member 7 103 ACTIVE 2
 * free-pending 9 12
 * end
 * </pre>
 *
 * {@code token} and {@code owner} are {@code -} when there is none; {@code free-pending} lists
 * the IDs left behind, or {@code -}. A member line is ID, SPID, state and references.
 */
public final class SetExportFile {
    /** The first word of the file. */
    public static final String MAGIC = "ioasid-set";
    private static final Pattern NUMBER = Pattern.compile("0|[1-9][0-9]*");
    private static final Pattern WORD = Pattern.compile("[^\\s\\p{Cntrl}]+");
    private static final String NONE = "-";

    private SetExportFile() {
    }

    private static IoasidException bad(String message) {
        return new IoasidException(Errno.EINVAL, message);
    }

    /** The file's text; EINVAL for a token or owner that one line cannot carry. */
    /**
     * @return the file's text
     * @throws IoasidException EINVAL for a token or owner that one line cannot carry
     */
    public static String write(SetExportDTO d) {
        StringBuilder sb = new StringBuilder();
        sb.append(MAGIC).append(' ').append(SetExportDTO.FORMAT).append('\n');
        sb.append("set ").append(d.setId).append('\n');
        sb.append("type ").append(d.tokenType).append('\n');
        sb.append("token ").append(word(d.token, "token")).append('\n');
        sb.append("owner ").append(word(d.owner, "owner")).append('\n');
        sb.append("quota ").append(d.quota).append('\n');
        sb.append("bits ").append(d.idBits).append('\n');
        sb.append("members ").append(d.members.length).append('\n');
        for (SetMemberDTO m : d.members) {
            sb.append("member ").append(m.id).append(' ').append(m.spid).append(' ')
                    .append(m.state).append(' ').append(m.refs).append('\n');
        }
        sb.append("free-pending");
        if (d.freePendingIds.length == 0) {
            sb.append(' ').append(NONE);
        }
        for (int id : d.freePendingIds) {
            sb.append(' ').append(id);
        }
        sb.append("\nend\n");
        return sb.toString();
    }

    private static String word(String value, String what) {
        if (value == null) {
            return NONE;
        }
        if (value.equals(NONE) || !WORD.matcher(value).matches()) {
            throw bad("the set's " + what + " '" + value + "' cannot be written to a set file:"
                    + " it must be one word, not '-'");
        }
        return value;
    }

    /** The path of a file name an operator typed; EINVAL for one the file system refuses. */
    private static Path path(String file) {
        try {
            return Path.of(file);
        } catch (InvalidPathException e) {
            throw bad("'" + file.replaceAll("\\p{Cntrl}", "?") + "' is not a file name");
        }
    }

    /**
     * Checks, before anything is changed for an export, that the file can be written where it is
     * named: its directory exists and is writable. {@link #save} may still fail (a full disk).
     *
     * @throws IoasidException EINVAL for a name the file system refuses; ENOENT for a missing
     *     directory; EACCES without permission, with the messages {@link #save} gives
     */
    public static void checkWritable(String file) {
        Path dir = path(file).toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new IoasidException(Errno.ENOENT, "cannot write " + file
                    + ": no such directory");
        }
        if (!Files.isWritable(dir)) {
            throw new IoasidException(Errno.EACCES, "cannot write " + file
                    + ": permission denied");
        }
    }

    /**
     * Writes the file, replacing one that is there.
     *
     * @throws IoasidException EINVAL as {@link #write} or for a name the file system refuses;
     *     ENOENT for a missing directory; EACCES without permission; EIO otherwise
     */
    public static void save(SetExportDTO d, String file) {
        Path p = path(file);
        String text = write(d);
        try {
            Files.writeString(p, text, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new IoasidException(Errno.ENOENT, "cannot write " + file
                    + ": no such directory");
        } catch (AccessDeniedException e) {
            throw new IoasidException(Errno.EACCES, "cannot write " + file
                    + ": permission denied");
        } catch (IOException | RuntimeException e) {
            throw new IoasidException(Errno.EIO, "cannot write " + file + ": " + e);
        }
    }

    /**
     * Reads a file.
     *
     * @throws IoasidException ENOENT for no such file; EACCES without permission; EINVAL for
     *     anything but a set file of this format, naming the line
     */
    public static SetExportDTO load(String file) {
        Path p = path(file);
        if (!Files.exists(p)) {
            throw new IoasidException(Errno.ENOENT, "no file " + file);
        }
        if (!Files.isRegularFile(p)) {
            throw new IoasidException(Errno.EINVAL, file + " is not a file");
        }
        String text;
        try {
            text = Files.readString(p, StandardCharsets.UTF_8);
        } catch (AccessDeniedException e) {
            throw new IoasidException(Errno.EACCES, "cannot read " + file + ": permission denied");
        } catch (IOException | RuntimeException e) {
            // a MalformedInputException too: the file is not UTF-8 text
            throw new IoasidException(Errno.EINVAL, file + " is not a set file (not UTF-8 text)");
        }
        return read(text, file);
    }

    /** Parses a set file's text; EINVAL naming the line for anything else. */
    public static SetExportDTO read(String text, String file) {
        if (!text.endsWith("\n")) {
            throw bad(file + ": not a set file (it does not end with a line break)");
        }
        Lines in = new Lines(text.substring(0, text.length() - 1).split("\n", -1), file);
        String magic = in.next(MAGIC);
        if (!magic.equals(String.valueOf(SetExportDTO.FORMAT))) {
            throw in.bad("format " + magic + " is not " + SetExportDTO.FORMAT
                    + ", the one this platform reads");
        }
        SetExportDTO d = new SetExportDTO();
        d.format = SetExportDTO.FORMAT;
        d.setId = in.number("set");
        d.tokenType = in.word("type");
        d.token = none(in.word("token"));
        d.owner = none(in.word("owner"));
        d.quota = in.number("quota");
        d.idBits = in.number("bits");
        int n = in.number("members");
        if (n > in.remaining()) {
            throw in.bad("members " + n + " but only " + in.remaining() + " lines follow");
        }
        d.members = new SetMemberDTO[n];
        for (int i = 0; i < n; i++) {
            String[] f = in.fields("member", 4);
            SetMemberDTO m = new SetMemberDTO();
            m.id = in.toNumber(f[0]);
            m.spid = in.toNumber(f[1]);
            m.state = f[2];
            m.refs = in.toNumber(f[3]);
            d.members[i] = m;
        }
        String pending = in.next("free-pending");
        d.freePendingIds = pending.equals(NONE) ? new int[0]
                : java.util.Arrays.stream(pending.split(" ", -1)).mapToInt(in::toNumber).toArray();
        in.end();
        return d;
    }

    private static String none(String word) {
        return word.equals(NONE) ? null : word;
    }

    /** The lines of a file, read in order; each error names the file and the line. */
    private static final class Lines {
        private final List<String> lines;
        private final String file;
        private int at;

        Lines(String[] lines, String file) {
            this.lines = List.of(lines);
            this.file = file;
        }

        IoasidException bad(String message) {
            return SetExportFile.bad(file + " line " + at + ": " + message);
        }

        int remaining() {
            return lines.size() - at;
        }

        /** The rest of the next line after "key ", which must be there. */
        String next(String key) {
            if (at == lines.size()) {
                at++;
                throw bad("'" + key + " ...' expected, the file ends");
            }
            String line = lines.get(at++);
            if (!line.startsWith(key + " ") || line.length() == key.length() + 1) {
                throw bad("'" + key + " ...' expected, found '" + shorten(line) + "'");
            }
            return line.substring(key.length() + 1);
        }

        String word(String key) {
            String v = next(key);
            if (!WORD.matcher(v).matches()) {
                throw bad("'" + key + "' takes one word, found '" + shorten(v) + "'");
            }
            return v;
        }

        int number(String key) {
            return toNumber(next(key));
        }

        String[] fields(String key, int count) {
            String[] f = next(key).split(" ", -1);
            if (f.length != count) {
                throw bad("'" + key + "' takes " + count + " fields, found " + f.length);
            }
            for (String s : f) {
                if (!WORD.matcher(s).matches()) {
                    throw bad("'" + key + "' has an empty or odd field");
                }
            }
            return f;
        }

        int toNumber(String s) {
            if (!NUMBER.matcher(s).matches()) {
                throw bad("'" + shorten(s) + "' is not a number");
            }
            if (s.length() > 10 || Long.parseLong(s) > Integer.MAX_VALUE) {
                throw bad(s + " is too large");
            }
            return Integer.parseInt(s);
        }

        void end() {
            next0("end");
            if (at != lines.size()) {
                at++;
                throw bad("nothing may follow 'end'");
            }
        }

        private void next0(String word) {
            if (at == lines.size()) {
                at++;
                throw bad("'" + word + "' expected, the file ends");
            }
            String line = lines.get(at++);
            if (!line.equals(word)) {
                throw bad("'" + word + "' expected, found '" + shorten(line) + "'");
            }
        }

        /** What an error quotes of a line: 40 characters at most, control characters as '?'. */
        private static String shorten(String s) {
            String t = s.length() > 40 ? s.substring(0, 40) + "..." : s;
            return t.codePoints().map(c -> Character.isISOControl(c) ? '?' : c)
                    .collect(StringBuilder::new, StringBuilder::appendCodePoint,
                            StringBuilder::append).toString();
        }
    }
}

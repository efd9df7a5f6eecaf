package ioasid.runtime.impl;

import java.util.ArrayList;
import java.util.Hashtable;
import java.util.List;

/**
 * Reads the configuration file format of Config Admin and FileInstall ({@code key=value} lines,
 * {@code #} comments, values such as {@code "text"}, {@code I"16"}, {@code B"true"},
 * {@code ["a", "b"]}, a trailing backslash continuing a line) strictly: a file that does not
 * follow it is refused with the line and column of the first mistake, where FileInstall would
 * fall back to reading it as Java properties and keep quote marks in the values.
 */
final class ConfigFile {
    /** A mistake in the file's syntax, at a line and column counted from 1. */
    static final class SyntaxError extends Exception {
        private static final long serialVersionUID = 1L;
        final int line;
        final int column;

        SyntaxError(int line, int column, String message) {
            super("line " + line + ", column " + column + ": " + message);
            this.line = line;
            this.column = column;
        }
    }

    private final String text;
    private int pos;
    private int line = 1;
    private int lineStart;

    private ConfigFile(String text) {
        this.text = text;
    }

    static Hashtable<String, Object> parse(String text) throws SyntaxError {
        return new ConfigFile(text).read();
    }

    private Hashtable<String, Object> read() throws SyntaxError {
        Hashtable<String, Object> out = new Hashtable<>();
        while (true) {
            skipBlank(true);
            if (pos >= text.length()) {
                return out;
            }
            int keyLine = line;
            int keyColumn = column();
            String key = key();
            skipBlank(false);
            expect('=', "'=' after the key '" + key + "'");
            skipBlank(false);
            Object value = value();
            skipBlank(false);
            if (pos < text.length() && text.charAt(pos) != '\n') {
                throw error("the end of the line after the value of '" + key + "'");
            }
            if (out.put(key, value) != null) {
                throw new SyntaxError(keyLine, keyColumn, "'" + key + "' is set twice");
            }
        }
    }

    private String key() throws SyntaxError {
        int start = pos;
        while (pos < text.length()) {
            char c = text.charAt(pos);
            if (Character.isLetterOrDigit(c) || c == '.' || c == '_' || c == '-' || c == '$') {
                pos++;
            } else {
                break;
            }
        }
        if (pos == start) {
            throw error("a key");
        }
        return text.substring(start, pos);
    }

    private Object value() throws SyntaxError {
        char type = 'T';
        if (pos < text.length() && "TILSXCBFD".indexOf(text.charAt(pos)) >= 0) {
            type = text.charAt(pos++);
        }
        if (pos >= text.length()) {
            throw error("a value");
        }
        char c = text.charAt(pos);
        if (c == '[' || c == '(') {
            char close = c == '[' ? ']' : ')';
            pos++;
            List<Object> items = new ArrayList<>();
            while (true) {
                skipBlank(true);
                if (pos < text.length() && text.charAt(pos) == close) {
                    pos++;
                    break;
                }
                items.add(simple(type));
                skipBlank(true);
                if (pos < text.length() && text.charAt(pos) == ',') {
                    pos++;
                    continue;
                }
                skipBlank(true);
                expect(close, "',' or '" + close + "' in the list");
                break;
            }
            return c == '[' ? array(type, items) : items;
        }
        return simple(type);
    }

    private Object simple(char type) throws SyntaxError {
        int l = line;
        int col = column();
        expect('"', "a quoted value");
        StringBuilder sb = new StringBuilder();
        while (true) {
            if (pos >= text.length() || text.charAt(pos) == '\n') {
                throw new SyntaxError(l, col, "the quoted value has no closing quote");
            }
            char c = text.charAt(pos++);
            if (c == '"') {
                break;
            }
            if (c == '\\' && pos < text.length()) {
                char e = text.charAt(pos++);
                switch (e) {
                    case 'n': sb.append('\n'); break;
                    case 't': sb.append('\t'); break;
                    case 'r': sb.append('\r'); break;
                    case 'b': sb.append('\b'); break;
                    case 'f': sb.append('\f'); break;
                    case 'u':
                        if (pos + 4 > text.length()) {
                            throw error("four hex digits after \\u");
                        }
                        try {
                            sb.append((char) Integer.parseInt(text.substring(pos, pos + 4), 16));
                        } catch (NumberFormatException x) {
                            throw error("four hex digits after \\u");
                        }
                        pos += 4;
                        break;
                    default: sb.append(e);
                }
                continue;
            }
            sb.append(c);
        }
        return typed(type, sb.toString(), l, col);
    }

    private static Object typed(char type, String s, int line, int column) throws SyntaxError {
        try {
            switch (type) {
                case 'I': return Integer.valueOf(s.trim());
                case 'L': return Long.valueOf(s.trim());
                case 'S': return Short.valueOf(s.trim());
                case 'X': return Byte.valueOf(s.trim());
                case 'F': return Float.valueOf(s.trim());
                case 'D': return Double.valueOf(s.trim());
                case 'B':
                    if (!s.equalsIgnoreCase("true") && !s.equalsIgnoreCase("false")) {
                        throw new SyntaxError(line, column, "B\"" + s + "\" is not true or false");
                    }
                    return Boolean.valueOf(s);
                case 'C':
                    if (s.length() != 1) {
                        throw new SyntaxError(line, column, "C\"" + s + "\" is not one character");
                    }
                    return s.charAt(0);
                default: return s;
            }
        } catch (NumberFormatException e) {
            throw new SyntaxError(line, column, type + "\"" + s + "\" is not a number of type "
                    + type);
        }
    }

    private static Object array(char type, List<Object> items) {
        switch (type) {
            case 'I': return items.toArray(new Integer[0]);
            case 'L': return items.toArray(new Long[0]);
            case 'S': return items.toArray(new Short[0]);
            case 'X': return items.toArray(new Byte[0]);
            case 'F': return items.toArray(new Float[0]);
            case 'D': return items.toArray(new Double[0]);
            case 'B': return items.toArray(new Boolean[0]);
            case 'C': return items.toArray(new Character[0]);
            default: return items.toArray(new String[0]);
        }
    }

    /** Skips spaces, tabs, backslash continuations and comments; newlines too when asked. */
    private void skipBlank(boolean newlines) {
        while (pos < text.length()) {
            char c = text.charAt(pos);
            if (c == ' ' || c == '\t' || c == '\r') {
                pos++;
            } else if (c == '\\' && pos + 1 < text.length() && (text.charAt(pos + 1) == '\n'
                    || text.startsWith("\r\n", pos + 1))) {
                pos += text.charAt(pos + 1) == '\n' ? 2 : 3;
                newLine();
            } else if (c == '\n' && newlines) {
                pos++;
                newLine();
            } else if (c == '#' && newlines && column() == 1 + leadingBlank()) {
                while (pos < text.length() && text.charAt(pos) != '\n') {
                    pos++;
                }
            } else {
                return;
            }
        }
    }

    private int leadingBlank() {
        int n = 0;
        while (lineStart + n < pos && Character.isWhitespace(text.charAt(lineStart + n))) {
            n++;
        }
        return n;
    }

    private void newLine() {
        line++;
        lineStart = pos;
    }

    private int column() {
        return pos - lineStart + 1;
    }

    private void expect(char c, String what) throws SyntaxError {
        if (pos >= text.length() || text.charAt(pos) != c) {
            throw error(what);
        }
        pos++;
    }

    private SyntaxError error(String expected) {
        String found = pos >= text.length() ? "the end of the file"
                : text.charAt(pos) == '\n' ? "the end of the line"
                : "'" + text.charAt(pos) + "'";
        return new SyntaxError(line, column(), "expected " + expected + ", found " + found);
    }
}

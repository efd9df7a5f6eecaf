package ioasid.webconsole.impl;

/**
 * A minimal JSON writer for the pages' data. Strings are escaped so that the text stays inert
 * wherever it lands: quotes, backslashes and control characters as JSON requires, and also
 * {@code <}, {@code >}, {@code &} and the line separators as {@code \}{@code uXXXX}, so that no
 * value can close a script element or start markup.
 */
final class Json {
    private final StringBuilder sb = new StringBuilder();
    /** The closing brackets of the objects and arrays open, innermost last. */
    private final StringBuilder open = new StringBuilder();
    /** Whether the next value in the current object or array needs a comma before it. */
    private boolean comma;

    Json object() {
        sep();
        sb.append('{');
        open.append('}');
        comma = false;
        return this;
    }

    Json end() {
        sb.append(open.charAt(open.length() - 1));
        open.setLength(open.length() - 1);
        comma = true;
        return this;
    }

    Json array() {
        sep();
        sb.append('[');
        open.append(']');
        comma = false;
        return this;
    }

    Json key(String k) {
        sep();
        string(k);
        sb.append(':');
        comma = false;
        return this;
    }

    Json value(String v) {
        sep();
        if (v == null) {
            sb.append("null");
        } else {
            string(v);
        }
        comma = true;
        return this;
    }

    Json value(long v) {
        sep();
        sb.append(v);
        comma = true;
        return this;
    }

    Json value(boolean v) {
        sep();
        sb.append(v);
        comma = true;
        return this;
    }

    Json field(String k, String v) {
        return key(k).value(v);
    }

    Json field(String k, long v) {
        return key(k).value(v);
    }

    Json field(String k, boolean v) {
        return key(k).value(v);
    }

    Json field(String k, int[] values) {
        key(k).array();
        for (int v : values) {
            value(v);
        }
        return end();
    }

    Json field(String k, String[] values) {
        key(k).array();
        for (String v : values == null ? new String[0] : values) {
            value(v);
        }
        return end();
    }

    @Override
    public String toString() {
        return sb.toString();
    }

    private void sep() {
        if (comma) {
            sb.append(',');
        }
    }

    private void string(String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20 || c == '<' || c == '>' || c == '&' || c == '\u2028'
                            || c == '\u2029') {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}

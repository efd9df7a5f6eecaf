package ioasid.shell.impl;

/**
 * What a command returns: the text a console prints when the result is not captured, and the
 * value a variable holds when it is ({@code id = (ioasid:alloc 2)} then {@code ioasid:free $id}).
 * Tables have no value: capturing one keeps its text.
 */
public final class Reply {
    private final String text;
    private final Object value;

    private Reply(String text, Object value) {
        this.text = text;
        this.value = value;
    }

    static Reply of(String text, Object value) {
        return new Reply(strip(text), value);
    }

    static Reply text(String text) {
        return new Reply(strip(text), null);
    }

    private static String strip(String text) {
        return text.endsWith("\n") ? text.substring(0, text.length() - 1) : text;
    }

    /** The text, without a trailing line break. */
    public String text() {
        return text;
    }

    /** The value, or null for a reply that is text only. */
    public Object value() {
        return value;
    }

    /** The value as text (what "$id" expands to), or the text when there is no value. */
    @Override
    public String toString() {
        return value == null ? text : String.valueOf(value);
    }
}

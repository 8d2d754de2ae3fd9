package io.jnbd.tools.info;

/**
 * nbdinfo's output, collected whole and printed at the end: on an error
 * nothing reaches stdout, as with libnbd's tool, which spools into a memory
 * stream for the same reason. Also where the ANSI colours and JSON string
 * quoting of that output live.
 */
final class Spool {
    static final String BOLD_BLACK = "1;30";
    static final String BRIGHT_MAGENTA = "1;35";
    static final String BRIGHT_WHITE = "1;37";
    static final String GREEN = "22;32";
    static final String RED = "22;31";
    static final String BG_BLACK = "40";
    static final String BG_LIGHT_GREY = "47";

    private final StringBuilder text = new StringBuilder();
    private final boolean colour;

    Spool(boolean colour) {
        this.colour = colour;
    }

    Spool add(String s) {
        text.append(s);
        return this;
    }

    Spool add(char c) {
        text.append(c);
        return this;
    }

    /** Sets a colour (an SGR parameter such as {@link #GREEN}) if colours are on; null sets none. */
    Spool colour(String sgr) {
        if (colour && sgr != null) {
            text.append("\033[").append(sgr).append('m');
        }
        return this;
    }

    /** Back to the terminal's default colours, if colours are on. */
    Spool restore() {
        if (colour) {
            text.append("\033[0m");
        }
        return this;
    }

    /**
     * {@code s} as a JSON string the way nbdinfo writes one: only {@code "}
     * and {@code \} are escaped with a backslash, other control characters as
     * six-character unicode escapes in lower-case hex, and everything else,
     * non-ASCII included, as is.
     */
    Spool json(String s) {
        text.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                text.append('\\').append(c);
            } else if (c < ' ') {
                text.append(String.format("\\u%04x", (int) c));
            } else {
                text.append(c);
            }
        }
        text.append('"');
        return this;
    }

    @Override
    public String toString() {
        return text.toString();
    }
}

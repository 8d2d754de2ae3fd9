package io.jnbd.internal.uri;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** RFC 3986 character classes, percent-encoding and IP-literal checks for NBD URIs. */
final class UriCodec {

    static final String SUB_DELIMS = "!$&'()*+,;=";

    /** ASCII characters (beyond unreserved) that may appear unescaped in a user name. */
    static final String USERINFO_CHARS = SUB_DELIMS + ":";
    /** ... in a registered host name. */
    static final String HOST_CHARS = SUB_DELIMS;
    /** ... in the path. */
    static final String PATH_CHARS = SUB_DELIMS + ":@/";
    /** ... in the query and fragment. */
    static final String QUERY_CHARS = PATH_CHARS + "?";

    /*
     * What format() leaves unescaped. Narrower than what parse() accepts: ':'
     * in a user name would read as user:password to other tools, and '&', ';',
     * '=' and '+' in a query name or value would be read as structure (or, by
     * form decoders, '+' as a space).
     */
    static final String USERINFO_OUT = SUB_DELIMS;
    static final String HOST_OUT = SUB_DELIMS;
    static final String PATH_OUT = PATH_CHARS;
    static final String QUERY_OUT = "!$'()*,:@/?";

    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    private UriCodec() {
    }

    /**
     * Lower-cases ASCII letters only, as C's {@code strcasecmp} compares. Unicode
     * folding would let a name spelt with KELVIN SIGN (U+212A) for the "k"
     * match {@code tls-psk-file}.
     */
    static String asciiLower(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            sb.append(c >= 'A' && c <= 'Z' ? (char) (c + ('a' - 'A')) : c);
        }
        return sb.toString();
    }

    /** {@code s.startsWith(prefix)}, ignoring the case of ASCII letters only; {@code prefix} is lower-case. */
    static boolean startsWithIgnoringAsciiCase(String s, String prefix) {
        return s.length() >= prefix.length() && asciiLower(s.substring(0, prefix.length())).equals(prefix);
    }

    static boolean isUnreserved(int c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || c == '-' || c == '.' || c == '_' || c == '~';
    }

    /*
     * Non-ASCII characters are taken as they are (as an IRI would) rather than
     * refused: they cannot be mistaken for URI structure, and people do paste
     * URIs with UTF-8 export names. ASCII and C1 controls are still refused.
     */
    private static boolean isAllowedRaw(int cp, String extra) {
        if (cp < 0x80) {
            return isUnreserved(cp) || extra.indexOf(cp) >= 0;
        }
        return cp >= 0xA0 && !isSurrogate(cp);
    }

    /** True for a surrogate code unit, which codePointAt returns only when it is unpaired. */
    private static boolean isSurrogate(int cp) {
        return cp >= Character.MIN_SURROGATE && cp <= Character.MAX_SURROGATE;
    }

    /**
     * Percent-decodes {@code uri[start, end)} as UTF-8, refusing characters that
     * the component ({@code what}, for messages) does not allow unescaped.
     */
    static String decode(String uri, int start, int end, String extra, String what)
            throws UriSyntaxError {
        StringBuilder out = new StringBuilder(end - start);
        ByteArrayOutputStream escaped = new ByteArrayOutputStream();
        int i = start;
        while (i < end) {
            int cp = uri.codePointAt(i);
            if (cp == '%') {
                if (i + 2 >= end || hexValue(uri.charAt(i + 1)) < 0
                        || hexValue(uri.charAt(i + 2)) < 0) {
                    throw new UriSyntaxError("invalid percent-encoding \""
                            + uri.substring(i, Math.min(i + 3, end)) + "\" at offset " + i
                            + " in the NBD URI " + what);
                }
                escaped.write(hexValue(uri.charAt(i + 1)) << 4 | hexValue(uri.charAt(i + 2)));
                i += 3;
                continue;
            }
            if (!isAllowedRaw(cp, extra)) {
                // A lone surrogate has no UTF-8 form to suggest.
                String hint = isSurrogate(cp) ? ""
                        : " (write it as " + encode(new String(Character.toChars(cp)), "") + ")";
                throw new UriSyntaxError("invalid character " + describe(cp) + " at offset " + i
                        + " in the NBD URI " + what + hint);
            }
            flushUtf8(escaped, out, what);
            out.appendCodePoint(cp);
            i += Character.charCount(cp);
        }
        flushUtf8(escaped, out, what);
        return out.toString();
    }

    private static void flushUtf8(ByteArrayOutputStream escaped, StringBuilder out, String what)
            throws UriSyntaxError {
        if (escaped.size() == 0) {
            return;
        }
        try {
            out.append(StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(escaped.toByteArray())));
        } catch (CharacterCodingException e) {
            throw new UriSyntaxError("percent-encoded bytes in the NBD URI " + what
                    + " are not valid UTF-8");
        }
        escaped.reset();
    }

    private static int hexValue(char c) {
        // Character.digit alone would also take non-ASCII digits.
        return c < 0x80 ? Character.digit(c, 16) : -1;
    }

    private static String describe(int cp) {
        return cp >= 0x20 && cp < 0x7F ? "'" + (char) cp + "'" : String.format("U+%04X", cp);
    }

    /** Percent-encodes the UTF-8 bytes of {@code s}, except unreserved characters and {@code keep}. */
    static String encode(String s, String keep) {
        StringBuilder out = new StringBuilder(s.length());
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xFF;
            if (c < 0x80 && (isUnreserved(c) || keep.indexOf(c) >= 0)) {
                out.append((char) c);
            } else {
                out.append('%').append(HEX[c >> 4]).append(HEX[c & 0xF]);
            }
        }
        return out.toString();
    }

    /** True if {@code s} is a textual IPv6 address (RFC 4291 section 2.2), without brackets or zone. */
    static boolean isIpv6Address(String s) {
        int gap = s.indexOf("::");
        if (gap < 0) {
            return groups(s, true) == 8;
        }
        if (s.indexOf("::", gap + 1) >= 0) {
            return false;
        }
        int head = groups(s.substring(0, gap), false);
        int tail = groups(s.substring(gap + 2), true);
        // "::" stands for at least one zero group.
        return head >= 0 && tail >= 0 && head + tail <= 7;
    }

    /** Counts the 16-bit groups in a colon-separated run, or -1 if it is malformed. */
    private static int groups(String run, boolean ipv4Tail) {
        if (run.isEmpty()) {
            return 0;
        }
        String[] parts = run.split(":", -1);
        int count = 0;
        for (int i = 0; i < parts.length; i++) {
            String p = parts[i];
            if (ipv4Tail && i == parts.length - 1 && p.indexOf('.') >= 0) {
                if (!isIpv4Address(p)) {
                    return -1;
                }
                count += 2;
            } else if (p.isEmpty() || p.length() > 4 || !p.chars().allMatch(c -> hexValue((char) c) >= 0)) {
                return -1;
            } else {
                count++;
            }
        }
        return count;
    }

    private static boolean isIpv4Address(String s) {
        String[] parts = s.split("\\.", -1);
        if (parts.length != 4) {
            return false;
        }
        for (String p : parts) {
            if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(c -> c >= '0' && c <= '9')
                    || Integer.parseInt(p) > 255) {
                return false;
            }
        }
        return true;
    }
}

package io.jnbd.tools.dump;

import io.jnbd.NbdExtent;
import io.jnbd.NbdHandle;
import io.jnbd.tools.ToolException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * nbddump's output, byte for byte: 16 bytes a line (offset, hex, characters),
 * a line equal to the one before squashed into one splat line, and ANSI
 * colours with the same escape sequences when asked for.
 */
final class HexDump {
    static final String BASE_ALLOCATION = "base:allocation";
    /** How much is read (or found all zero) at once, as nbddump. */
    static final int CHUNK = 16 << 20;

    private static final long STATE_ZERO = 2;
    private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

    // The SGR parameters of nbdkit's ansi-colours.h, which nbddump uses.
    private static final String GREEN = "22;32";
    private static final String GREY = "22;90";
    private static final String BRIGHT_BLUE = "1;34";
    private static final String BRIGHT_RED = "1;31";
    private static final String BRIGHT_MAGENTA = "1;35";
    private static final int ESC = 0x1b;
    static final String RESTORE = "\033[0m";

    private final NbdHandle h;
    private final PrintStream out;
    private final boolean colour;
    private final byte[] splat;
    private final byte[] pipe;
    private final byte[] dot;
    /** Output waiting to be written: lines are made here, then written in large pieces. */
    private final byte[] text = new byte[1 << 16];
    private int used;

    HexDump(NbdHandle h, PrintStream out, boolean colour) {
        this.h = h;
        this.out = out;
        this.colour = colour;
        // Without colours the output is plain ASCII.
        this.splat = (colour ? "☆" : "*").getBytes(StandardCharsets.UTF_8);
        this.pipe = (colour ? "│" : "|").getBytes(StandardCharsets.UTF_8);
        this.dot = (colour ? "·" : ".").getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Dumps from {@code skip}, at most {@code limit} bytes (unsigned; -1 for
     * no limit). Like nbddump, an offset past the end makes the first request
     * fail, and the last line of the export is never squashed, but the last
     * line of a shorter dump may be.
     */
    void dump(long skip, long limit) {
        long size = h.getSize();
        boolean extents = h.canMetaContext(BASE_ALLOCATION);
        long remaining = size - skip;
        long count = Long.compareUnsigned(remaining, limit) > 0 ? limit : remaining;
        long offset = skip;
        byte[] buffer = new byte[(int) (Long.compareUnsigned(count, CHUNK) > 0 ? CHUNK : count) + 16];
        byte[] last = null;
        boolean splatPrinted = false;
        while (count != 0) {
            int n = (int) (Long.compareUnsigned(count, CHUNK) > 0 ? CHUNK : count);
            if (extents && allZero(offset, n)) {
                Arrays.fill(buffer, 0, n, (byte) 0);
            } else {
                h.pread(ByteBuffer.wrap(buffer, 0, n), offset);
            }
            // A short last line compares as if padded with zeroes.
            Arrays.fill(buffer, n, n + 16, (byte) 0);
            for (int i = 0; i < n; i += 16) {
                long lineOffset = offset + i;
                // The first line printed is never squashed, nor is the export's last line.
                boolean same = last != null && lineOffset + 16 < size
                        && Arrays.equals(buffer, i, i + 16, last, 0, 16);
                if (same) {
                    if (!splatPrinted) {
                        put(splat);
                        put('\n');
                        splatPrinted = true;
                    }
                    continue;
                }
                splatPrinted = false;
                last = Arrays.copyOfRange(buffer, i, i + 16);
                line(lineOffset, buffer, i, Math.min(i + 16, n));
                if (used > text.length - 1024) {
                    flush();
                }
            }
            flush();
            offset += n;
            count -= n;
        }
    }

    /**
     * Whether base:allocation says the whole range reads as zeroes; false if
     * the server described less than the range (nbddump asks only once).
     */
    private boolean allZero(long offset, int count) {
        long[] described = {0};
        boolean[] zero = {true};
        h.blockStatus64(count, offset, (context, start, entries, error) -> {
            if (context.equals(BASE_ALLOCATION)) {
                for (NbdExtent e : entries) {
                    described[0] += e.length();
                    zero[0] &= (e.flags() & STATE_ZERO) != 0;
                }
            }
            return 0;
        });
        return zero[0] && described[0] >= count;
    }

    private void line(long offset, byte[] buffer, int from, int to) {
        colour(GREEN);
        for (int shift = 36; shift >= 0; shift -= 4) {
            put(HEX[(int) (offset >>> shift) & 15]);
        }
        colour(GREY);
        put(':');
        put(' ');
        for (int j = from; j < to; j++) {
            colour(buffer[j] != 0 ? BRIGHT_BLUE : GREY);
            put(HEX[(buffer[j] >> 4) & 15]);
            put(HEX[buffer[j] & 15]);
            put(' ');
            if (j - from == 7) {
                put(' ');
            }
        }
        colour(GREY);
        for (int j = to; j < from + 16; j++) {
            put(' ');
            put(' ');
            put(' ');
            if (j - from == 7) {
                put(' ');
            }
        }
        put(pipe);
        for (int j = from; j < to; j++) {
            int c = buffer[j] & 0xff;
            if (c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') { // isalnum, C locale
                colour(BRIGHT_RED);
                put(c);
            } else if (c >= 0x20 && c < 0x7f) { // isprint
                colour(BRIGHT_MAGENTA);
                put(c);
            } else {
                colour(GREY);
                put(dot);
            }
        }
        colour(GREY);
        for (int j = to; j < from + 16; j++) {
            put(' ');
        }
        put(pipe);
        put('\n');
        if (colour) {
            put(RESTORE);
        }
    }

    private void colour(String sgr) {
        if (colour) {
            put(ESC);
            put('[');
            put(sgr);
            put('m');
        }
    }

    private void put(String ascii) {
        for (int k = 0; k < ascii.length(); k++) {
            put(ascii.charAt(k));
        }
    }

    private void put(int b) {
        text[used++] = (byte) b;
    }

    private void put(byte[] bytes) {
        System.arraycopy(bytes, 0, text, used, bytes.length);
        used += bytes.length;
    }

    private void flush() {
        out.write(text, 0, used);
        used = 0;
        if (out.checkError()) {
            throw new ToolException(1, "error writing to standard output");
        }
    }
}

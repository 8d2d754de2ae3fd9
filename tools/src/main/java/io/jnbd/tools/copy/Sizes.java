package io.jnbd.tools.copy;

/** Sizes written the way libnbd's tools read and print them ({@code 256K}, {@code 1M}, {@code 2s}). */
final class Sizes {
    private Sizes() {
    }

    /**
     * Parses a byte count with an optional suffix: {@code b}, powers of 1024
     * ({@code k m g t p e}, either case) or {@code s} (512-byte sectors).
     *
     * @throws IllegalArgumentException with libnbd's wording of what is wrong
     */
    static long parse(String s) {
        int i = 0;
        while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
            i++;
        }
        int start = i;
        if (i < s.length() && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
            i++;
        }
        int digits = i;
        while (i < s.length() && s.charAt(i) >= '0' && s.charAt(i) <= '9') {
            i++;
        }
        if (i == digits) {
            throw new IllegalArgumentException("could not parse size string: " + s);
        }
        long size;
        try {
            size = Long.parseLong(s.substring(start, i));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("size exceeds maximum value: " + s);
        }
        if (size < 0) {
            throw new IllegalArgumentException("size cannot be negative: " + s);
        }
        if (i == s.length()) {
            return size;
        }
        long scale = switch (Character.toLowerCase(s.charAt(i))) {
            case 'b' -> 1;
            case 'k' -> 1L << 10;
            case 'm' -> 1L << 20;
            case 'g' -> 1L << 30;
            case 't' -> 1L << 40;
            case 'p' -> 1L << 50;
            case 'e' -> 1L << 60;
            case 's' -> 512;
            default -> throw new IllegalArgumentException("could not parse size: unknown suffix: " + s.substring(i));
        };
        if (i + 1 != s.length()) {
            throw new IllegalArgumentException("could not parse size: unknown suffix: " + s.substring(i));
        }
        if (Long.MAX_VALUE / scale < size) {
            throw new IllegalArgumentException("could not parse size: size * scale overflows: " + s);
        }
        return size * scale;
    }

    /** The shortest exact form: {@code 1048576} is {@code 1M}, {@code 1000} stays {@code 1000}. */
    static String human(long bytes) {
        String units = "KMGTPE";
        int unit = -1;
        while (bytes != 0 && (bytes & 1023) == 0 && unit < units.length() - 1) {
            bytes >>>= 10;
            unit++;
        }
        return Long.toUnsignedString(bytes) + (unit < 0 ? "" : String.valueOf(units.charAt(unit)));
    }

    static boolean isPowerOfTwo(long v) {
        return v > 0 && (v & (v - 1)) == 0;
    }
}

package io.jnbd.tools.info;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;

/**
 * The number formats of nbdinfo's output, as C's printf writes them. The
 * decimal ones round the exact binary value half to even, as glibc does:
 * Java's {@code %.1f} would print 6.25 as 6.3 where nbdinfo prints 6.2.
 */
final class Numbers {
    private static final String SUFFIXES = "EPTGMK";

    private Numbers() {
    }

    /** A size as nbdinfo abbreviates it: "1M" for 1048576, or null if it is no whole multiple of a KiB. */
    static String humanSize(long bytes) {
        int i = SUFFIXES.length();
        while (bytes != 0 && (bytes & 1023) == 0) {
            bytes >>>= 10;
            i--;
        }
        return i == SUFFIXES.length() ? null : Long.toUnsignedString(bytes) + SUFFIXES.charAt(i);
    }

    /** C's {@code %.Nf}. */
    static String fixed(double v, int decimals) {
        return new BigDecimal(v).setScale(decimals, RoundingMode.HALF_EVEN).toPlainString();
    }

    /** C's {@code %g}: six significant digits, no trailing zeros, an exponent outside 1e-4 to 1e6. */
    static String g(double v) {
        if (v == 0) {
            return "0";
        }
        BigDecimal r = new BigDecimal(v).round(new MathContext(6, RoundingMode.HALF_EVEN));
        int exponent = r.precision() - r.scale() - 1;
        if (exponent >= -4 && exponent < 6) {
            return r.stripTrailingZeros().toPlainString();
        }
        String mantissa = r.movePointLeft(exponent).stripTrailingZeros().toPlainString();
        int abs = Math.abs(exponent);
        return mantissa + (exponent < 0 ? "e-" : "e+") + (abs < 10 ? "0" : "") + abs;
    }
}

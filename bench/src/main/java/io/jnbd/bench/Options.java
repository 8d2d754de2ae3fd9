package io.jnbd.bench;

import java.util.HashMap;
import java.util.Map;

/**
 * {@code --name=value} command-line options. The benchmarks are driven by
 * bench/run.sh, so this stays minimal: every option has a default, an unknown
 * option is an error (a misspelt one must not silently run the default).
 */
final class Options {
    private final Map<String, String> values = new HashMap<>();

    Options(String[] args) {
        for (String a : args) {
            int eq = a.indexOf('=');
            if (!a.startsWith("--") || eq < 0) {
                throw new IllegalArgumentException("expected --name=value, got: " + a);
            }
            values.put(a.substring(2, eq), a.substring(eq + 1));
        }
    }

    String string(String name, String dflt) {
        String v = values.remove(name);
        return v == null ? dflt : v;
    }

    long size(String name, long dflt) {
        String v = values.remove(name);
        return v == null ? dflt : parseSize(v);
    }

    int integer(String name, int dflt) {
        long v = size(name, dflt);
        if (v > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("--" + name + " too large: " + v);
        }
        return (int) v;
    }

    double decimal(String name, double dflt) {
        String v = values.remove(name);
        return v == null ? dflt : Double.parseDouble(v);
    }

    /** Call after reading every option: leftovers are misspellings. */
    void rejectUnknown() {
        if (!values.isEmpty()) {
            throw new IllegalArgumentException("unknown options: " + values.keySet());
        }
    }

    /** A byte count with an optional binary suffix, as nbdkit and nbdcopy take them: 256K, 8G. */
    static long parseSize(String s) {
        int shift = switch (Character.toUpperCase(s.charAt(s.length() - 1))) {
            case 'K' -> 10;
            case 'M' -> 20;
            case 'G' -> 30;
            case 'T' -> 40;
            default -> 0;
        };
        String digits = shift == 0 ? s : s.substring(0, s.length() - 1);
        return Math.multiplyExact(Long.parseLong(digits), 1L << shift);
    }
}

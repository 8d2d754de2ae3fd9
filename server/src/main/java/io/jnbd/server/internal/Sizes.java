package io.jnbd.server.internal;

import java.util.Locale;

/** Sizes written as nbdkit writes them: {@code 1G}, {@code 512M}, {@code 100k}, {@code 2048s}, {@code 1GiB}. */
public final class Sizes {
    private Sizes() {
    }

    public static long parse(String text) {
        String s = text.trim();
        int end = 0;
        while (end < s.length() && Character.isDigit(s.charAt(end))) {
            end++;
        }
        if (end == 0) {
            throw new IllegalArgumentException("could not parse size string (" + text + ")");
        }
        long number;
        try {
            number = Long.parseLong(s.substring(0, end));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("size is too large (" + text + ")");
        }
        String suffix = s.substring(end);
        if (suffix.endsWith("iB") && suffix.length() == 3) {
            suffix = suffix.substring(0, 1);
        } else if (suffix.endsWith("B") && suffix.length() == 2) {
            suffix = suffix.substring(0, 1);
        }
        int shift = switch (suffix.toLowerCase(Locale.ROOT)) {
            case "", "b" -> 0;
            case "s" -> 9;
            case "k" -> 10;
            case "m" -> 20;
            case "g" -> 30;
            case "t" -> 40;
            case "p" -> 50;
            case "e" -> 60;
            default -> throw new IllegalArgumentException("could not parse size string (" + text + ")");
        };
        if (shift > 0 && number > (Long.MAX_VALUE >> shift)) {
            throw new IllegalArgumentException("size is too large (" + text + ")");
        }
        return number << shift;
    }
}

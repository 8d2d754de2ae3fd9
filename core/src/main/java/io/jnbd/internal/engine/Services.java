package io.jnbd.internal.engine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Service names to TCP ports, from /etc/services, as getaddrinfo resolves them. */
final class Services {
    private Services() {
    }

    static Integer lookup(String name) {
        List<String> lines;
        try {
            lines = Files.readAllLines(Path.of("/etc/services"));
        } catch (IOException e) {
            return null;
        }
        for (String line : lines) {
            int hash = line.indexOf('#');
            String[] f = (hash >= 0 ? line.substring(0, hash) : line).trim().split("\\s+");
            if (f.length < 2 || !f[1].endsWith("/tcp")) {
                continue;
            }
            for (int i = 0; i < f.length; i++) {
                if (i != 1 && f[i].equals(name)) {
                    try {
                        return Integer.parseInt(f[1].substring(0, f[1].indexOf('/')));
                    } catch (NumberFormatException e) {
                        return null;
                    }
                }
            }
        }
        return null;
    }
}

package io.jnbd.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** What a leak test counts: this JVM's open descriptors, jnbd's threads, zombie children. */
public final class Leaks {
    private Leaks() {
    }

    public static long openDescriptors() throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }

    /** Live threads jnbd started (their names start with "jnbd-"). */
    public static long jnbdThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("jnbd-")).count();
    }

    /** Children of this JVM in state Z. */
    public static long zombieChildren() throws IOException {
        long me = ProcessHandle.current().pid();
        long zombies = 0;
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path p : (Iterable<Path>) procs::iterator) {
                if (!p.getFileName().toString().chars().allMatch(Character::isDigit)) {
                    continue;
                }
                try {
                    String stat = Files.readString(p.resolve("stat"));
                    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    if (f[0].equals("Z") && Long.parseLong(f[1]) == me) {
                        zombies++;
                    }
                } catch (IOException gone) {
                    // The process ended while we looked.
                }
            }
        }
        return zombies;
    }
}

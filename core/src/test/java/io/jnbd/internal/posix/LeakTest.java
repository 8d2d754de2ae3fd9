package io.jnbd.internal.posix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class LeakTest {
    private static long openDescriptors() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        }
    }

    /** Pids of our children that are zombies, from /proc/[pid]/stat: "pid (comm) state ppid ...". */
    private static List<Long> zombieChildren() throws IOException {
        long self = ProcessHandle.current().pid();
        List<Long> zombies = new ArrayList<>();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path proc : (Iterable<Path>) procs::iterator) {
                if (!proc.getFileName().toString().chars().allMatch(Character::isDigit)) {
                    continue;
                }
                String stat;
                try {
                    stat = Files.readString(proc.resolve("stat"));
                } catch (NoSuchFileException e) {
                    continue;
                }
                // comm may hold spaces and parentheses; it ends at the last ')'.
                String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                if (fields[0].equals("Z") && Long.parseLong(fields[1]) == self) {
                    zombies.add(Long.parseLong(proc.getFileName().toString()));
                }
            }
        }
        return zombies;
    }

    @Test
    void thousandSpawnsLeaveNoDescriptorsOrZombies() throws Exception {
        assumeTrue(Posix.isAvailable());
        long before = openDescriptors();
        for (int i = 0; i < 1000; i++) {
            Fd[] pair = Posix.socketPair();
            try (Fd a = pair[0]; Fd b = pair[1]) {
                Subprocess child = Posix.spawn(List.of("true"), Map.of(), Set.of(), b, 0, 1);
                assertTrue(child.waitFor(Duration.ofSeconds(10)));
                assertEquals(0, child.exitStatus());
            }
        }
        long after = openDescriptors();
        assertTrue(Math.abs(after - before) <= 2, before + " descriptors before, " + after + " after");
        assertEquals(List.of(), zombieChildren());
    }
}

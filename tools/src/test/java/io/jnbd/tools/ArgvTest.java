package io.jnbd.tools;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class ArgvTest {

    @Test
    void bracketGroupsBecomeOnePlaceholderEach() {
        Argv a = Argv.of("--json", "[", "nbdkit", "-U", "-", "memory", "1M", "]", "[", "qemu-nbd", "-f", "raw", "x", "]");
        String[] args = a.args();
        assertEquals(3, args.length);
        assertEquals("--json", args[0]);
        assertEquals(List.of("nbdkit", "-U", "-", "memory", "1M"), a.command(args[1]).orElseThrow());
        assertEquals(List.of("qemu-nbd", "-f", "raw", "x"), a.command(args[2]).orElseThrow());
        assertTrue(a.command("--json").isEmpty());
        assertEquals(new Server.Command(List.of("qemu-nbd", "-f", "raw", "x")), Server.of(a, args[2]));
        assertEquals(new Server.Uri("nbd://h"), Server.of(a, "nbd://h"));
    }

    @Test
    void wordsAfterDoubleDashAreLeftAlone() {
        assertArrayEquals(new String[] {"--", "cmd", "[", "x", "]"}, Argv.of("--", "cmd", "[", "x", "]").args());
    }

    @Test
    void unbalancedOrEmptyGroupsAreErrors() {
        assertEquals(1, assertThrows(ToolException.class, () -> Argv.of("[", "nbdkit", "memory")).status());
        assertThrows(ToolException.class, () -> Argv.of("[", "]"));
    }
}

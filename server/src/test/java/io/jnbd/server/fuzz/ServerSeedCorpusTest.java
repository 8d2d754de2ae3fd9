package io.jnbd.server.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jnbd.internal.protocol.Nbd;
import io.jnbd.server.internal.FuzzAccess.Ending;
import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Keeps the server's seed corpus honest: the files match
 * {@link ServerSeedCorpus}, each target has one fuzz method with seeds, and
 * every seed still gets as far as it was written to.
 * {@code -Djnbd.fuzz.writeSeeds=true} rewrites the files.
 */
class ServerSeedCorpusTest {
    /** Relative to the module, where Maven runs the tests. */
    private static final Path SOURCE = Path.of("src/test/resources/io/jnbd/server/fuzz");

    @Test
    void filesMatchTheSeedCorpus() throws IOException {
        boolean write = Boolean.getBoolean("jnbd.fuzz.writeSeeds");
        for (ServerSeedCorpus.Seed s : ServerSeedCorpus.all()) {
            Path file = SOURCE.resolve(s.path());
            if (write) {
                Files.createDirectories(file.getParent());
                Files.write(file, s.bytes());
            }
            assertTrue(Files.exists(file), file + " is missing: run the tests with -Djnbd.fuzz.writeSeeds=true");
            assertArrayEquals(s.bytes(), Files.readAllBytes(file),
                    file + " is out of date: run the tests with -Djnbd.fuzz.writeSeeds=true");
        }
    }

    @Test
    void seedsGetAsFarAsIntended() throws Exception {
        for (ServerSeedCorpus.Seed s : ServerSeedCorpus.all()) {
            assertTrue(s.check().holds(s.bytes()), s.path() + " no longer does what it was written for");
        }
    }

    /**
     * The limit on options per connection, which only an input of 64 KiB
     * reaches: as a seed, it would make libFuzzer try inputs that long.
     */
    @Test
    void theServerHangsUpAfter4096Options() throws IOException {
        ClientBytes client = new ClientBytes().u8(0).u32(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES);
        for (int i = 0; i < 4096; i++) {
            client.option(99);
        }
        client.infoOrGo(Nbd.OPT_GO, "fuzz");
        assertEquals(Ending.VIOLATION, ServerHandshakeFuzzTest.run(client.toByteArray()).ending());
    }

    /** Jazzer fuzzes one target per JVM, and fuzz/run.sh gives each class a JVM of its own. */
    @Test
    void everyTargetHasOneMethodWithSeeds() {
        List<ServerSeedCorpus.Seed> seeds = ServerSeedCorpus.all();
        for (Class<?> target : List.of(ServerHandshakeFuzzTest.class, ServerTransmissionFuzzTest.class)) {
            List<Method> methods = Stream.of(target.getDeclaredMethods())
                    .filter(m -> m.isAnnotationPresent(FuzzTest.class)).toList();
            assertEquals(1, methods.size(), target.getSimpleName() + " has " + methods.size() + " fuzz targets");
            String method = methods.getFirst().getName();
            assertTrue(seeds.stream().anyMatch(s -> s.target() == target && s.method().equals(method)),
                    target.getSimpleName() + "#" + method + " has no seeds");
        }
    }
}

package io.jnbd.server.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.jnbd.fuzz.SeedFiles;
import io.jnbd.internal.protocol.Nbd;
import io.jnbd.server.internal.FuzzAccess.Ending;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Keeps the server's seed corpus honest with core's {@link SeedFiles}
 * checks, and checks the one limit too long to keep as a seed.
 * {@code -Djnbd.fuzz.writeSeeds=true} rewrites the files.
 */
class ServerSeedCorpusTest {
    /** Relative to the module, where Maven runs the tests. */
    private static final Path SOURCE = Path.of("src/test/resources/io/jnbd/server/fuzz");

    @Test
    void filesMatchTheSeedCorpus() throws Exception {
        SeedFiles.assertFilesMatch(SOURCE, ServerSeedCorpus.all());
    }

    @Test
    void seedsGetAsFarAsIntended() throws Throwable {
        SeedFiles.assertSeedsHold(ServerSeedCorpus.all());
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

    @Test
    void everyFuzzClassHasOneTargetWithSeeds() throws Exception {
        SeedFiles.assertOneTargetPerClassWithSeeds(ServerSeedCorpusTest.class, ServerSeedCorpus.all());
    }
}

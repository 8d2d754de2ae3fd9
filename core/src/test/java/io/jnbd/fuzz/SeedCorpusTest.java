package io.jnbd.fuzz;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;

/**
 * Keeps the seed corpus honest (see {@link SeedFiles}): the files match
 * {@link SeedCorpus}, every seed still gets as far as it was written to, and
 * every fuzz class has one target with seeds. {@code -Djnbd.fuzz.writeSeeds=true}
 * rewrites the files.
 */
class SeedCorpusTest {
    /** Relative to the module, where Maven runs the tests. */
    private static final Path SOURCE = Path.of("src/test/resources/io/jnbd/fuzz");

    @Test
    void filesMatchTheSeedCorpus() throws Exception {
        SeedFiles.assertFilesMatch(SOURCE, SeedCorpus.all());
    }

    @Test
    void seedsGetAsFarAsIntended() throws Throwable {
        SeedFiles.assertSeedsHold(SeedCorpus.all());
    }

    @Test
    void everyFuzzClassHasOneTargetWithSeeds() throws Exception {
        SeedFiles.assertOneTargetPerClassWithSeeds(SeedCorpusTest.class, SeedCorpus.all());
    }
}

package io.jnbd.tools.copy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** jnbd and libnbd 1.22's nbdcopy copy the same thing to the same result, each reading what the other wrote. */
class CopyOracleTest extends CopyFixture {

    @Test
    void sparseRandomToFilesMatchNbdcopyAndKeepHoles() throws Exception {
        try (var src = nbdkitServer("a", "sparse-random", "256M", "seed=1234", "runlength=1048576")) {
            Path mine = dir.resolve("jnbd.img");
            Path theirs = dir.resolve("nbdcopy.img");
            succeeded(copy(src.unixUri(""), mine));
            oracleCopy(src.unixUri(""), theirs.toString());
            assertEquals(-1, Files.mismatch(theirs, mine));
            long data = allocated(theirs);
            assertTrue(data > 0 && data < Files.size(theirs) / 4, "nbdcopy allocated " + data);
            assertTrue(allocated(mine) <= data, "jnbd allocated " + allocated(mine) + ", nbdcopy " + data);
        }
    }

    @Test
    void jnbdReadsBackWhatNbdcopyWrote() throws Exception {
        Path file = sparseFile(dir.resolve("file"), 11);
        try (var dst = nbdkitServer("b", "memory", "size=" + Files.size(file))) {
            oracleCopy(file.toString(), dst.unixUri(""));
            Path back = dir.resolve("back");
            succeeded(copy(dst.unixUri(""), back));
            assertEquals(-1, Files.mismatch(file, back));
        }
    }

    @Test
    void nbdcopyReadsBackWhatJnbdWrote() throws Exception {
        Path file = sparseFile(dir.resolve("file"), 12);
        try (var src = nbdkitServer("a", "file", file.toString());
                var dst = nbdkitServer("b", "memory", "size=" + Files.size(file))) {
            succeeded(copy("--request-size=64K", "-R", "8", "--queue-size=256K", src.unixUri(""), dst.unixUri("")));
            assertEquals(sha256(file), oracleSha256(dst.unixUri("")));
        }
    }
}

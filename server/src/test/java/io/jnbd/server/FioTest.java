package io.jnbd.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** fio's nbd engine (libnbd underneath) writes random blocks with checksums, then reads and verifies them. */
class FioTest {
    @RegisterExtension
    NbdServerExtension nbd = NbdServerExtension.memory("64M");

    @Test
    void randomWritesVerifyWithManyInFlight() throws Exception {
        Oracle.Result r = Oracle.host("fio", "--name=verify", "--ioengine=nbd", "--uri=" + nbd.uri(),
                "--rw=randwrite", "--bs=4k", "--size=16M", "--iodepth=32", "--verify=crc32c", "--do_verify=1",
                "--output-format=json");
        assertEquals(0, r.status(), r.stderr());
        assertTrue(r.out().contains("\"error\" : 0"), r.out());
        assertTrue(r.out().contains("\"jobname\" : \"verify\""), r.out());
    }
}

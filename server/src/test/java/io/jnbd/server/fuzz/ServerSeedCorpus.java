package io.jnbd.server.fuzz;

import static io.jnbd.server.fuzz.ServerHandshakeFuzzTest.SIZE;

import io.jnbd.CmdFlag;
import io.jnbd.fuzz.Seed;
import io.jnbd.internal.protocol.Nbd;
import io.jnbd.server.internal.FuzzAccess.Ending;
import io.jnbd.server.internal.FuzzAccess.Outcome;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The server targets' seed corpus: correct (and some deliberately refused)
 * client conversations. Jazzer reads them from
 * {@code src/test/resources/io/jnbd/server/fuzz/<Class>Inputs/<method>/}: as
 * regression inputs in an ordinary test run, as the starting corpus when
 * fuzzing. {@link ServerSeedCorpusTest} writes and checks those files.
 */
final class ServerSeedCorpus {
    private static final int BOTH_FLAGS = Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES;

    private ServerSeedCorpus() {
    }

    static List<Seed> all() {
        List<Seed> seeds = new ArrayList<>();
        handshakes(seeds);
        transmissions(seeds);
        return seeds;
    }

    private static void handshakes(List<Seed> seeds) {
        Class<?> c = ServerHandshakeFuzzTest.class;
        seeds.add(new Seed(c, "handshake", "extended-headers", new ClientBytes().u8(0).u32(BOTH_FLAGS)
                .option(Nbd.OPT_EXTENDED_HEADERS)
                .option(Nbd.OPT_LIST)
                .metaContext(Nbd.OPT_LIST_META_CONTEXT, "", "base:")
                .metaContext(Nbd.OPT_SET_META_CONTEXT, "fuzz", "base:allocation")
                .infoOrGo(Nbd.OPT_INFO, "fuzz", Nbd.INFO_NAME, Nbd.INFO_DESCRIPTION, Nbd.INFO_BLOCK_SIZE)
                .infoOrGo(Nbd.OPT_GO, "fuzz")
                .toByteArray(), handshake(new Outcome(Ending.DONE, "fuzz", true, true, true))));
        seeds.add(new Seed(c, "handshake", "structured-replies-in-pieces", new ClientBytes().u8(1).u32(BOTH_FLAGS)
                .option(Nbd.OPT_STRUCTURED_REPLY)
                .metaContext(Nbd.OPT_SET_META_CONTEXT, "ro", "base:allocation", "qemu:dirty-bitmap:x")
                .infoOrGo(Nbd.OPT_GO, "ro", Nbd.INFO_BLOCK_SIZE)
                .toByteArray(), handshake(new Outcome(Ending.DONE, "ro", true, false, true))));
        seeds.add(new Seed(c, "handshake", "export-name-with-zeroes", new ClientBytes().u8(0)
                .u32(Nbd.FLAG_FIXED_NEWSTYLE)
                .option(Nbd.OPT_EXPORT_NAME, new ClientBytes().bytes("fuzz".getBytes()))
                .toByteArray(), handshake(new Outcome(Ending.DONE, "fuzz", false, false, false))));
        seeds.add(new Seed(c, "handshake", "refusals-then-abort", new ClientBytes().u8(0).u32(BOTH_FLAGS)
                .option(Nbd.OPT_STARTTLS)
                .option(99)
                .option(Nbd.OPT_STRUCTURED_REPLY, new ClientBytes().u8(0))
                .metaContext(Nbd.OPT_SET_META_CONTEXT, "fuzz", "base:allocation")
                .infoOrGo(Nbd.OPT_INFO, "nope")
                .option(Nbd.OPT_GO, new ClientBytes().u32(1 << 20).u16(0))
                .option(Nbd.OPT_ABORT)
                .toByteArray(), handshake(new Outcome(Ending.ABORTED, null, false, false, false))));
        seeds.add(new Seed(c, "handshake", "export-name-unknown", new ClientBytes().u8(0).u32(BOTH_FLAGS)
                .option(Nbd.OPT_EXPORT_NAME, new ClientBytes().bytes("nope".getBytes()))
                .toByteArray(), handshake(new Outcome(Ending.VIOLATION, null, false, false, false))));
    }

    private static Seed.Check handshake(Outcome expected) {
        return data -> expected.equals(ServerHandshakeFuzzTest.run(data));
    }

    private static void transmissions(List<Seed> seeds) {
        Class<?> c = ServerTransmissionFuzzTest.class;
        byte[] block = new byte[4096];
        for (int i = 0; i < block.length; i++) {
            block[i] = (byte) (i * 7);
        }
        seeds.add(new Seed(c, "requests", "simple", new ClientBytes().u8(0)
                .request(false, 0, Nbd.CMD_WRITE, 1, 0, 4096).bytes(block)
                .request(false, 0, Nbd.CMD_READ, 2, 0, 4096)
                .request(false, CmdFlag.FUA, Nbd.CMD_WRITE_ZEROES, 3, 8192, 4096)
                .request(false, 0, Nbd.CMD_TRIM, 4, 65536, 65536)
                .request(false, 0, Nbd.CMD_FLUSH, 5, 0, 0)
                .request(false, 0, Nbd.CMD_CACHE, 6, 0, SIZE)
                .request(false, 0, Nbd.CMD_READ, 7, SIZE - 512, 1024)
                .request(false, 0, Nbd.CMD_WRITE, 8, SIZE, 16).bytes(new byte[16])
                .request(false, CmdFlag.DF, Nbd.CMD_READ, 9, 0, 512)
                .request(false, 0, 99, 10, 0, 0)
                .request(false, 0, Nbd.CMD_DISC, 11, 0, 0)
                .toByteArray(), transmission(Ending.DONE, 0, 0, 0, 0, 0, 0, Nbd.EINVAL, Nbd.ENOSPC, Nbd.EINVAL, Nbd.EINVAL)));
        seeds.add(new Seed(c, "requests", "structured", new ClientBytes().u8(1 | 4)
                .request(false, 0, Nbd.CMD_WRITE, 1, 65536, 4096).bytes(block)
                .request(false, CmdFlag.DF, Nbd.CMD_READ, 2, 65536, 8192)
                .request(false, 0, Nbd.CMD_BLOCK_STATUS, 3, 0, SIZE)
                .request(false, CmdFlag.REQ_ONE, Nbd.CMD_BLOCK_STATUS, 4, 65536, 4096)
                .request(false, 0, Nbd.CMD_READ, 5, 0, 0)
                .request(false, CmdFlag.NO_HOLE, Nbd.CMD_WRITE_ZEROES, 6, 0, 4096)
                .request(false, CmdFlag.REQ_ONE, Nbd.CMD_READ, 7, 0, 4096)
                .request(false, CmdFlag.REQ_ONE, Nbd.CMD_BLOCK_STATUS, 8, SIZE, 0)
                .request(false, 0, Nbd.CMD_DISC, 9, 0, 0)
                .toByteArray(), transmission(Ending.DONE, 0, 0, 0, 0, 0, 0, Nbd.EINVAL, Nbd.EINVAL)));
        seeds.add(new Seed(c, "requests", "extended", new ClientBytes().u8(2 | 4)
                .request(true, CmdFlag.PAYLOAD_LEN, Nbd.CMD_WRITE, 1, 0, 4096).bytes(block)
                .request(true, 0, Nbd.CMD_WRITE, 2, 4096, 4096).bytes(block)
                .request(true, 0, Nbd.CMD_BLOCK_STATUS, 3, 0, SIZE)
                .request(true, 0, Nbd.CMD_READ, 4, 0, 8192)
                .request(true, CmdFlag.PAYLOAD_LEN, Nbd.CMD_BLOCK_STATUS, 5, 0, 8).u64(SIZE)
                .request(true, 0, Nbd.CMD_READ, 6, 0, -1L)
                .request(true, 0, Nbd.CMD_DISC, 7, 0, 0)
                .toByteArray(), transmission(Ending.DONE, 0, 0, 0, 0, Nbd.EINVAL, Nbd.EINVAL)));
        seeds.add(new Seed(c, "requests", "read-only-512-in-pieces", new ClientBytes().u8(8 | 16 | 32)
                .request(false, 0, Nbd.CMD_WRITE, 1, 0, 512).bytes(new byte[512])
                .request(false, 0, Nbd.CMD_READ, 2, 100, 512)
                .request(false, 0, Nbd.CMD_READ, 3, 512, 1024)
                .request(false, 0, Nbd.CMD_BLOCK_STATUS, 4, 0, 512)
                .request(false, 0, Nbd.CMD_DISC, 5, 0, 0)
                .toByteArray(), transmission(Ending.DONE, Nbd.EPERM, Nbd.EINVAL, 0, Nbd.EINVAL)));
        seeds.add(new Seed(c, "requests", "write-over-the-maximum", new ClientBytes().u8(0)
                .request(false, 0, Nbd.CMD_READ, 1, 0, 512)
                .request(false, 0, Nbd.CMD_WRITE, 2, 0, (32 << 20) + 1)
                .toByteArray(), transmission(Ending.VIOLATION, 0)));
    }

    /** The seed ends as intended, its requests answered with these errnos (0: success). */
    private static Seed.Check transmission(Ending ending, int... errnos) {
        List<Integer> expected = Arrays.stream(errnos).boxed().toList();
        return data -> new ServerTransmissionFuzzTest.Result(ending, expected)
                .equals(ServerTransmissionFuzzTest.run(data));
    }
}

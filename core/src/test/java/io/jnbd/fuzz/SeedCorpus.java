package io.jnbd.fuzz;

import io.jnbd.internal.protocol.Errno;
import io.jnbd.internal.protocol.Nbd;

import java.util.ArrayList;
import java.util.List;

import static io.jnbd.fuzz.ServerBytes.blockStatus;
import static io.jnbd.fuzz.ServerBytes.blockStatusExt;
import static io.jnbd.fuzz.ServerBytes.errorOffsetPayload;
import static io.jnbd.fuzz.ServerBytes.errorPayload;
import static io.jnbd.fuzz.ServerBytes.infoBlockSize;
import static io.jnbd.fuzz.ServerBytes.infoExport;
import static io.jnbd.fuzz.ServerBytes.infoString;
import static io.jnbd.fuzz.ServerBytes.metaContextPayload;
import static io.jnbd.fuzz.ServerBytes.offsetData;
import static io.jnbd.fuzz.ServerBytes.offsetHole;
import static io.jnbd.fuzz.ServerBytes.serverPayload;
import static io.jnbd.fuzz.TransmissionFuzzTest.CONTEXT_ID;
import static io.jnbd.fuzz.TransmissionFuzzTest.READ_OFFSET;
import static io.jnbd.fuzz.TransmissionFuzzTest.READ_SIZE;
import static io.jnbd.fuzz.TransmissionFuzzTest.STATUS_OFFSET;

/**
 * The seed corpus: for each fuzz target, correct server transcripts, so that
 * the fuzzer starts from inputs that reach deep into the code. Jazzer reads
 * them from {@code src/test/resources/io/jnbd/fuzz/<Class>Inputs/<method>/}:
 * as regression inputs in an ordinary test run, as the starting corpus when
 * fuzzing. Those files are written from here ({@link SeedCorpusTest} checks
 * that they match, and that each seed gets as far as it should).
 */
final class SeedCorpus {
    private static final int EXPORT_FLAGS = Nbd.TFLAG_HAS_FLAGS | Nbd.TFLAG_SEND_FLUSH | Nbd.TFLAG_SEND_FUA
            | Nbd.TFLAG_SEND_TRIM | Nbd.TFLAG_SEND_WRITE_ZEROES | Nbd.TFLAG_SEND_DF | Nbd.TFLAG_CAN_MULTI_CONN
            | Nbd.TFLAG_SEND_CACHE;
    private static final long EXPORT_SIZE = 1L << 30;
    /** Cookies of the transmission target's commands: they count from 1 in the order it sends them. */
    private static final int READ = 1;
    private static final int STATUS = 2;
    private static final int FLUSH = 3;
    private static final int DONE = Nbd.REPLY_FLAG_DONE;

    private SeedCorpus() {
    }

    static List<Seed> all() {
        List<Seed> seeds = new ArrayList<>();
        optionReplies(seeds);
        replyHeaders(seeds);
        blockStatusChunks(seeds);
        handshakes(seeds);
        transmissions(seeds);
        return seeds;
    }

    private static void optionReplies(List<Seed> seeds) {
        Class<?> c = OptionReplyHeaderFuzzTest.class;
        Seed.Check header = OptionReplyHeaderFuzzTest::decode;
        seeds.add(new Seed(c, "header", "ack", new ServerBytes().u8(Nbd.OPT_STRUCTURED_REPLY)
                .ack(Nbd.OPT_STRUCTURED_REPLY).toByteArray(), header));
        seeds.add(new Seed(c, "header", "server", new ServerBytes().u8(Nbd.OPT_LIST)
                .server("fuzz", "a disk for fuzzing").toByteArray(), header));
        seeds.add(new Seed(c, "header", "info", new ServerBytes().u8(Nbd.OPT_GO)
                .info(Nbd.OPT_GO, infoExport(EXPORT_SIZE, EXPORT_FLAGS)).toByteArray(), header));
        seeds.add(new Seed(c, "header", "meta-context", new ServerBytes().u8(Nbd.OPT_SET_META_CONTEXT)
                .metaContext(Nbd.OPT_SET_META_CONTEXT, 1, "base:allocation").toByteArray(), header));
        seeds.add(new Seed(c, "header", "error", new ServerBytes().u8(Nbd.OPT_GO)
                .optionError(Nbd.OPT_GO, Nbd.REP_ERR_UNKNOWN, "no such export").toByteArray(), header));

        c = ServerReplyFuzzTest.class;
        Seed.Check server = ServerReplyFuzzTest::decode;
        seeds.add(new Seed(c, "payload", "name-and-description", serverPayload("fuzz", "a disk for fuzzing"),
                server));
        seeds.add(new Seed(c, "payload", "empty", serverPayload("", ""), server));
        seeds.add(new Seed(c, "payload", "longest", serverPayload("n".repeat(Nbd.MAX_STRING),
                "d".repeat(Nbd.MAX_STRING)), server));

        c = MetaContextReplyFuzzTest.class;
        Seed.Check meta = MetaContextReplyFuzzTest::decode;
        seeds.add(new Seed(c, "payload", "base-allocation", metaContextPayload(1, "base:allocation"), meta));
        seeds.add(new Seed(c, "payload", "dirty-bitmap", metaContextPayload(7, "qemu:dirty-bitmap:bitmap0"), meta));

        c = InfoReplyFuzzTest.class;
        Seed.Check info = InfoReplyFuzzTest::decode;
        seeds.add(new Seed(c, "payload", "export", infoExport(EXPORT_SIZE, EXPORT_FLAGS), info));
        seeds.add(new Seed(c, "payload", "name", infoString(Nbd.INFO_NAME, "fuzz"), info));
        seeds.add(new Seed(c, "payload", "description", infoString(Nbd.INFO_DESCRIPTION, "a disk for fuzzing"),
                info));
        seeds.add(new Seed(c, "payload", "block-size", infoBlockSize(512, 4096, 32 << 20), info));
        seeds.add(new Seed(c, "payload", "unknown-type", new ServerBytes().u16(0x1234).string("ignored")
                .toByteArray(), info));
    }

    /** Mode byte: bit 0 structured replies, bit 1 extended headers. */
    private static void replyHeaders(List<Seed> seeds) {
        Class<?> c = ReplyHeaderFuzzTest.class;
        Seed.Check check = ReplyHeaderFuzzTest::decode;
        seeds.add(new Seed(c, "header", "simple", new ServerBytes().u8(0).simpleReply(0, READ, new byte[0])
                .toByteArray(), check));
        seeds.add(new Seed(c, "header", "simple-error", new ServerBytes().u8(1).simpleReply(Nbd.EIO, FLUSH,
                new byte[0]).toByteArray(), check));
        seeds.add(new Seed(c, "header", "structured", new ServerBytes().u8(1).chunk(false, DONE,
                Nbd.REPLY_TYPE_OFFSET_DATA, READ, 0, offsetData(0, pattern(8))).toByteArray(), check));
        seeds.add(new Seed(c, "header", "extended", new ServerBytes().u8(3).chunk(true, DONE,
                Nbd.REPLY_TYPE_BLOCK_STATUS_EXT, STATUS, 0, blockStatusExt(CONTEXT_ID, 4096, 0)).toByteArray(),
                check));
    }

    /**
     * Mode byte (bit 0 extended descriptors, bit 1 64-bit callback), then how
     * far the export reaches past the request's offset, then the payload.
     */
    private static void blockStatusChunks(List<Seed> seeds) {
        Class<?> c = BlockStatusChunkFuzzTest.class;
        Seed.Check check = BlockStatusChunkFuzzTest::decode;
        long far = 1L << 50;
        seeds.add(new Seed(c, "chunk", "compact", chunk(0, far, blockStatus(CONTEXT_ID, 4096, 0, 1 << 20, 3)), check));
        seeds.add(new Seed(c, "chunk", "compact-past-the-end", chunk(0, 8192,
                blockStatus(CONTEXT_ID, 4096, 0, 65536, 3)), check));
        seeds.add(new Seed(c, "chunk", "extended-64-bit-callback", chunk(1 | 2, far,
                blockStatusExt(CONTEXT_ID, 1L << 40, 0, 512, 1L << 33)), check));
        seeds.add(new Seed(c, "chunk", "extended-cut-for-32-bits", chunk(1, far,
                blockStatusExt(CONTEXT_ID, 8L << 30, 3, 4096, 0)), check));
        seeds.add(new Seed(c, "chunk", "extended-64-bit-flags", chunk(1, far,
                blockStatusExt(CONTEXT_ID, 4096, 1L << 32 | 3, 512, 0)), check));
    }

    /** Mode byte: bit 0 the server's bytes arrive 7 at a time. */
    private static void handshakes(List<Seed> seeds) {
        Class<?> c = HandshakeFuzzTest.class;
        Seed.Check ready = data -> HandshakeFuzzTest.run(data) == HandshakeFuzzTest.Outcome.READY;
        seeds.add(new Seed(c, "handshake", "extended-headers", optHaggling(0, true), ready));
        seeds.add(new Seed(c, "handshake", "structured-replies", optHaggling(0, false), ready));
        seeds.add(new Seed(c, "handshake", "extended-headers-in-pieces", optHaggling(1, true), ready));
        seeds.add(new Seed(c, "handshake", "refusals-then-export-name", new ServerBytes().u8(0)
                .newstyle(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES)
                .optionError(Nbd.OPT_EXTENDED_HEADERS, Nbd.REP_ERR_UNSUP, "")
                .optionError(Nbd.OPT_STRUCTURED_REPLY, Nbd.REP_ERR_UNSUP, "no structured replies")
                .optionError(Nbd.OPT_LIST, Nbd.REP_ERR_POLICY, "listing is not allowed")
                .optionError(Nbd.OPT_LIST_META_CONTEXT, Nbd.REP_ERR_UNSUP, "")
                .optionError(Nbd.OPT_INFO, Nbd.REP_ERR_UNKNOWN, "no such export")
                .optionError(Nbd.OPT_GO, Nbd.REP_ERR_UNSUP, "")
                .exportNameReply(EXPORT_SIZE, EXPORT_FLAGS, false).toByteArray(), ready));
        seeds.add(new Seed(c, "handshake", "newstyle-not-fixed", new ServerBytes().u8(0).newstyle(0)
                .exportNameReply(EXPORT_SIZE, EXPORT_FLAGS, true).toByteArray(), ready));
        seeds.add(new Seed(c, "handshake", "oldstyle", new ServerBytes().u8(0).oldstyle(EXPORT_SIZE, EXPORT_FLAGS)
                .toByteArray(), data -> HandshakeFuzzTest.run(data) == HandshakeFuzzTest.Outcome.OLDSTYLE));
    }

    /**
     * A fixed newstyle server that agrees to everything the fuzz target's
     * client asks, in its order: extended headers (or, refused, structured
     * replies), the export list, the meta context list, then meta context and
     * NBD_OPT_INFO, then meta context and NBD_OPT_GO.
     */
    private static byte[] optHaggling(int mode, boolean extendedHeaders) {
        ServerBytes s = new ServerBytes().u8(mode).newstyle(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES);
        if (extendedHeaders) {
            s.ack(Nbd.OPT_EXTENDED_HEADERS);
        } else {
            s.optionError(Nbd.OPT_EXTENDED_HEADERS, Nbd.REP_ERR_UNSUP, "").ack(Nbd.OPT_STRUCTURED_REPLY);
        }
        s.server("fuzz", "a disk for fuzzing").server("", "").ack(Nbd.OPT_LIST);
        s.metaContext(Nbd.OPT_LIST_META_CONTEXT, 0, "base:allocation")
                .metaContext(Nbd.OPT_LIST_META_CONTEXT, 0, "qemu:dirty-bitmap:fuzz").ack(Nbd.OPT_LIST_META_CONTEXT);
        for (int option : new int[]{Nbd.OPT_INFO, Nbd.OPT_GO}) {
            s.metaContext(Nbd.OPT_SET_META_CONTEXT, CONTEXT_ID, "base:allocation").ack(Nbd.OPT_SET_META_CONTEXT)
                    .info(option, infoExport(EXPORT_SIZE, EXPORT_FLAGS))
                    .info(option, infoString(Nbd.INFO_NAME, "fuzz"))
                    .info(option, infoString(Nbd.INFO_DESCRIPTION, "a disk for fuzzing"))
                    .info(option, infoBlockSize(512, 4096, 32 << 20))
                    .ack(option);
        }
        return s.toByteArray();
    }

    /**
     * Mode byte as {@link TransmissionFuzzTest#replies}: bit 0 structured
     * replies, 1 extended headers, 2 reads of 7 bytes, 3 direct buffer, 4
     * asynchronous flush, 5 64-bit extent callback, 6 one command at a time.
     * With all three in flight, replies come out of order, as servers may
     * send them.
     */
    private static void transmissions(List<Seed> seeds) {
        Class<?> c = TransmissionFuzzTest.class;
        int eio = Nbd.EIO;
        int enotsup = Nbd.ENOTSUP;
        seeds.add(new Seed(c, "replies", "simple", new ServerBytes().u8(0)
                .simpleReply(0, FLUSH, new byte[0])
                .simpleReply(0, READ, pattern(READ_SIZE))
                .simpleReply(enotsup, STATUS, new byte[0]).toByteArray(), outcome(0, enotsup, 0)));
        seeds.add(new Seed(c, "replies", "simple-one-at-a-time", new ServerBytes().u8(64)
                .simpleReply(0, READ, pattern(READ_SIZE))
                .simpleReply(enotsup, STATUS, new byte[0])
                .simpleReply(0, FLUSH, new byte[0]).toByteArray(), outcome(0, enotsup, 0)));
        seeds.add(new Seed(c, "replies", "structured", new ServerBytes().u8(1 | 16)
                .chunk(false, 0, Nbd.REPLY_TYPE_OFFSET_DATA, READ, READ_OFFSET, offsetData(READ_OFFSET, pattern(4096)))
                .chunk(false, DONE, Nbd.REPLY_TYPE_BLOCK_STATUS, STATUS, STATUS_OFFSET,
                        blockStatus(CONTEXT_ID, 65536, 0, 1 << 20, 3))
                .simpleReply(0, FLUSH, new byte[0])
                .chunk(false, 0, Nbd.REPLY_TYPE_OFFSET_HOLE, READ, READ_OFFSET,
                        offsetHole(READ_OFFSET + 4096, READ_SIZE - 4096))
                .chunk(false, DONE, Nbd.REPLY_TYPE_NONE, READ, READ_OFFSET, new byte[0]).toByteArray(),
                outcome(0, 0, 0)));
        seeds.add(new Seed(c, "replies", "structured-errors", new ServerBytes().u8(1)
                .chunk(false, 0, Nbd.REPLY_TYPE_ERROR_OFFSET, READ, READ_OFFSET,
                        errorOffsetPayload(eio, "bad sector", READ_OFFSET + 512))
                .chunk(false, DONE, Nbd.REPLY_TYPE_ERROR, STATUS, STATUS_OFFSET,
                        errorPayload(enotsup, "no block status here"))
                .chunk(false, DONE, Nbd.REPLY_TYPE_NONE, READ, READ_OFFSET, new byte[0])
                .chunk(false, DONE, Nbd.REPLY_TYPE_NONE, FLUSH, 0, new byte[0]).toByteArray(),
                outcome(eio, enotsup, 0)));
        seeds.add(new Seed(c, "replies", "extended", extended(2, 1L << 29, 0), outcome(0, 0, 0)));
        seeds.add(new Seed(c, "replies", "extended-one-at-a-time", new ServerBytes().u8(2 | 64)
                .chunk(true, 0, Nbd.REPLY_TYPE_OFFSET_HOLE, READ, READ_OFFSET, offsetHole(READ_OFFSET, READ_SIZE))
                .chunk(true, DONE, Nbd.REPLY_TYPE_NONE, READ, READ_OFFSET, new byte[0])
                .chunk(true, DONE, Nbd.REPLY_TYPE_BLOCK_STATUS_EXT, STATUS, STATUS_OFFSET,
                        blockStatusExt(CONTEXT_ID, 1L << 30, 3))
                .chunk(true, DONE, Nbd.REPLY_TYPE_NONE, FLUSH, 0, new byte[0]).toByteArray(), outcome(0, 0, 0)));
        seeds.add(new Seed(c, "replies", "extended-in-pieces-direct", extended(2 | 4 | 8 | 16, 8L << 30, 0),
                outcome(0, 0, 0)));
        seeds.add(new Seed(c, "replies", "extended-64-bit-flags", extended(2, 1L << 29, 1L << 32),
                outcome(0, Errno.EOVERFLOW, 0)));
        seeds.add(new Seed(c, "replies", "extended-64-bit-flags-64-bit-callback",
                extended(2 | 32, 1L << 29, 1L << 32), outcome(0, 0, 0)));
    }

    /**
     * Extended headers: the whole read in one data chunk, two extents, the
     * first {@code firstExtent} long with flags {@code firstFlags}.
     */
    private static byte[] extended(int mode, long firstExtent, long firstFlags) {
        return new ServerBytes().u8(mode)
                .chunk(true, DONE, Nbd.REPLY_TYPE_BLOCK_STATUS_EXT, STATUS, STATUS_OFFSET,
                        blockStatusExt(CONTEXT_ID, firstExtent, firstFlags, 1L << 29, 3))
                .chunk(true, DONE, Nbd.REPLY_TYPE_OFFSET_DATA, READ, READ_OFFSET,
                        offsetData(READ_OFFSET, pattern(READ_SIZE)))
                .chunk(true, DONE, Nbd.REPLY_TYPE_NONE, FLUSH, 0, new byte[0]).toByteArray();
    }

    /** The three commands end with these errnos, and the connection stays up until the client closes it. */
    private static Seed.Check outcome(int read, int blockStatus, int flush) {
        return data -> new TransmissionFuzzTest.Outcome(read, blockStatus, flush, null)
                .equals(TransmissionFuzzTest.run(data));
    }

    private static byte[] pattern(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i * 7 + 1);
        }
        return b;
    }

    private static byte[] chunk(int mode, long extentOfExport, byte[] payload) {
        return new ServerBytes().u8(mode).u64(extentOfExport).bytes(payload).toByteArray();
    }
}

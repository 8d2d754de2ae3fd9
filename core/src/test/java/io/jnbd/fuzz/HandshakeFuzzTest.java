package io.jnbd.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jnbd.internal.engine.Debug;
import io.jnbd.internal.engine.HandshakeConfig;
import io.jnbd.internal.engine.NbdError;
import io.jnbd.internal.engine.Negotiated;
import io.jnbd.internal.engine.Negotiator;
import io.jnbd.internal.engine.WireChannel;
import io.jnbd.internal.protocol.Nbd;
import io.jnbd.internal.tls.TlsConfig;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole handshake against a server that says arbitrary bytes: greeting,
 * the automatic options, then what an opt-mode client does (list the
 * exports, list the meta contexts, NBD_OPT_INFO, NBD_OPT_GO). The only
 * allowed failure is an {@link NbdError}: any other exception escapes to the
 * fuzzer as a finding. TLS stays off: with it, the fuzzer would spend its
 * time in the JDK's TLS handshake rather than in jnbd.
 */
class HandshakeFuzzTest {
    /** Everything a client may ask for, so that every reply the server sends has a decoder waiting. */
    static final HandshakeConfig CONFIG = new HandshakeConfig("fuzz",
            Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES, true, true, true,
            List.of("base:allocation", "qemu:dirty-bitmap:fuzz"), true, true, true);

    /** Debug output on (its messages quote what the server sent) but dropped. */
    static final Debug DISCARD = new Debug() {
        @Override
        public boolean enabled() {
            return true;
        }

        @Override
        public void emit(String context, String message) {
        }
    };

    /** How far a handshake got. */
    enum Outcome { OLDSTYLE, READY, FAILED }

    /**
     * Input: first byte bit 0 set to hand the server's bytes over in reads of
     * at most 7 bytes (else as many as asked for); then everything the server
     * sends.
     */
    @FuzzTest
    void handshake(byte[] data) {
        run(data);
    }

    static Outcome run(byte[] data) {
        if (data.length < 1) {
            return Outcome.FAILED;
        }
        int maxRead = (data[0] & 1) != 0 ? 7 : Integer.MAX_VALUE;
        Negotiated result = new Negotiated();
        Negotiator negotiator = new Negotiator(new WireChannel(new MemoryTransport(data, 1, maxRead)), result, DISCARD,
                TlsConfig.DISABLED);
        try {
            if (negotiator.greet(CONFIG) == Negotiator.Greeting.OLDSTYLE_READY) {
                checkReady(result);
                return Outcome.OLDSTYLE;
            }
            negotiator.automaticOptions(CONFIG);
            if (!optional(() -> negotiator.list((name, description) -> {
                Invariants.assertBoundedString(name);
                Invariants.assertBoundedString(description);
            }))) {
                return Outcome.FAILED;
            }
            if (!optional(() -> negotiator.metaContext(Nbd.OPT_LIST_META_CONTEXT, CONFIG.exportName(),
                    CONFIG.metaContexts(), Invariants::assertBoundedString, true))) {
                return Outcome.FAILED;
            }
            if (!optional(() -> negotiator.goOrInfo(CONFIG, false))) {
                return Outcome.FAILED;
            }
            Invariants.checkExportInfo(result.export);
            negotiator.goOrInfo(CONFIG, true);
        } catch (NbdError e) {
            return Outcome.FAILED;
        }
        checkReady(result);
        return Outcome.READY;
    }

    interface Step {
        void run() throws NbdError;
    }

    /** Runs an option that the server may refuse; false if the connection is dead. */
    private static boolean optional(Step step) {
        try {
            step.run();
            return true;
        } catch (NbdError e) {
            return !e.fatal();
        }
    }

    private static void checkReady(Negotiated result) {
        assertTrue(result.exportKnown && result.export.haveExport, "handshake ended without an export");
        Invariants.checkExportInfo(result.export);
        assertTrue(result.structuredReplies || !result.extendedHeaders, "extended headers without structured replies");
        for (Negotiated.MetaContext m : result.metaContexts) {
            Invariants.assertBoundedString(m.name());
        }
    }
}

package io.jnbd.server.internal;

import io.jnbd.internal.transport.Transport;
import io.jnbd.server.Backend;
import java.io.EOFException;
import java.io.IOException;
import java.util.Map;

/**
 * The fuzz targets' door to the package-private handshake and transmission
 * phase (io.jnbd.server.fuzz). Tests run on the class path, so this test
 * class can share the package; the server itself has no seam for them.
 * Both phases end the way {@link Connection} expects: normally, or with an
 * {@link EOFException} or a {@link Handshake.Violation}, which come back as
 * an {@link Outcome}; anything else escapes to the fuzzer.
 */
public final class FuzzAccess {
    /** How a phase ended, and for a handshake what it negotiated. */
    public record Outcome(Ending ending, String export, boolean structured, boolean extended,
            boolean baseAllocation) {
    }

    public enum Ending {
        /** NBD_OPT_GO or NBD_OPT_EXPORT_NAME picked an export, or NBD_CMD_DISC ended transmission. */
        DONE,
        /** NBD_OPT_ABORT. */
        ABORTED,
        /** The client's bytes ran out, between messages or in one. */
        END_OF_INPUT,
        /** The server hung up on a protocol violation. */
        VIOLATION
    }

    private FuzzAccess() {
    }

    public static Export export(String name, Backend backend, String description, boolean readOnly) {
        return new Export(name, backend, description, readOnly);
    }

    /** The server's side of a negotiation with TLS off. */
    public static Outcome handshake(Transport client, Map<String, Export> exports, Limits limits) throws IOException {
        try {
            Handshake.Session s = new Handshake(client, exports, limits, null).run();
            return s == null ? new Outcome(Ending.ABORTED, null, false, false, false)
                    : new Outcome(Ending.DONE, s.export().name(), s.structured(), s.extended(), s.baseAllocation());
        } catch (EOFException e) {
            return new Outcome(Ending.END_OF_INPUT, null, false, false, false);
        } catch (Handshake.Violation e) {
            return new Outcome(Ending.VIOLATION, null, false, false, false);
        }
    }

    /** The transmission phase after a negotiation that ended as given. */
    public static Ending transmission(Transport client, Export export, boolean structured, boolean extended,
            boolean baseAllocation, Limits limits) throws IOException {
        WireIn in = new WireIn(client);
        Handshake.Session session = new Handshake.Session(export, structured, extended, baseAllocation, client, in);
        try {
            new Transmission(client, in, session, limits).run();
            return Ending.DONE;
        } catch (EOFException e) {
            return Ending.END_OF_INPUT;
        } catch (Handshake.Violation e) {
            return Ending.VIOLATION;
        }
    }
}

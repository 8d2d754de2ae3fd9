package io.jnbd.server.internal;

import io.jnbd.internal.transport.Transport;
import java.io.EOFException;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.Map;

/** One client, from greeting to hang-up, on its own thread. */
final class Connection implements Runnable {
    private static final System.Logger LOG = System.getLogger("io.jnbd.server");

    private final Transport transport;
    private final Map<String, Export> exports;
    private final Limits limits;
    private final Handshake.Tls tls;
    private final Runnable onClose;

    Connection(Transport transport, Map<String, Export> exports, Limits limits, Handshake.Tls tls,
            Runnable onClose) {
        this.tls = tls;
        this.transport = transport;
        this.exports = exports;
        this.limits = limits;
        this.onClose = onClose;
    }

    @Override
    public void run() {
        try {
            Handshake.Session session = new Handshake(transport, exports, limits, tls).run();
            if (session != null) {
                try {
                    new Transmission(session.transport(), session.in(), session, limits).run();
                } finally {
                    session.transport().close();
                }
            }
        } catch (WireIn.EndOfStream e) {
            // The client hung up between messages: nothing to report.
        } catch (EOFException | Handshake.Violation e) {
            LOG.log(Level.DEBUG, "closing a connection: {0}", e.getMessage());
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.DEBUG, "connection failed", e);
        } finally {
            transport.close();
            onClose.run();
        }
    }
}

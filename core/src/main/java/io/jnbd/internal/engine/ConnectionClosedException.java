package io.jnbd.internal.engine;

import java.io.IOException;

/** The server closed the connection (end of stream) where more bytes were due. */
final class ConnectionClosedException extends IOException {
    private static final long serialVersionUID = 1L;

    ConnectionClosedException() {
        super("server closed the connection unexpectedly");
    }
}

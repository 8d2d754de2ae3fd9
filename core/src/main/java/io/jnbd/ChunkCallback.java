package io.jnbd;

import java.nio.ByteBuffer;

/**
 * Called by {@link NbdHandle#preadStructured} once per chunk of the reply.
 *
 * <p>{@code subbuf} is a read-only view of the part of the caller's buffer the
 * chunk filled; {@code offset} its offset in the export; {@code status} one of
 * {@link #READ_DATA}, {@link #READ_HOLE}, {@link #READ_ERROR}. Return -1 (and
 * set {@code error}) to fail the command; the remaining chunks still arrive.
 */
@FunctionalInterface
public interface ChunkCallback {
    int READ_DATA = 1;
    int READ_HOLE = 2;
    int READ_ERROR = 3;

    int call(ByteBuffer subbuf, long offset, int status, ErrorHolder error);
}

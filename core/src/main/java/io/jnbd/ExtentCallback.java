package io.jnbd;

/**
 * Called by {@link NbdHandle#blockStatus} once per meta context in the reply.
 *
 * <p>{@code entries} holds pairs: length, then flags ({@code STATE_HOLE} = 1,
 * {@code STATE_ZERO} = 2 for base:allocation). Return -1 (and set
 * {@code error}) to fail the command.
 */
@FunctionalInterface
public interface ExtentCallback {
    int STATE_HOLE = 1;
    int STATE_ZERO = 2;

    int call(String metacontext, long offset, int[] entries, ErrorHolder error);
}

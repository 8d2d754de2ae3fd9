package io.jnbd;

/**
 * Called by {@link NbdHandle#blockStatus64} and {@link NbdHandle#blockStatusFilter}
 * once per meta context in the reply, with that context's extents from
 * {@code offset}. Return -1 (and set {@code error}) to fail the command.
 */
@FunctionalInterface
public interface Extent64Callback {
    int call(String metacontext, long offset, NbdExtent[] entries, ErrorHolder error);
}

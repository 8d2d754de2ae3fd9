package io.jnbd;

/** Called by {@link NbdHandle#optList} once per export the server lists. */
@FunctionalInterface
public interface ListCallback {
    /** @return ignored, as in libnbd */
    int call(String name, String description);
}

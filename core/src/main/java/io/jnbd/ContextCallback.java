package io.jnbd;

/** Called once per meta context name the server replies with ({@link NbdHandle#optListMetaContext} and friends). */
@FunctionalInterface
public interface ContextCallback {
    /** @return ignored, as in libnbd */
    int call(String name);
}

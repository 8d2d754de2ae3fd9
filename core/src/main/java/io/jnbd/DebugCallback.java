package io.jnbd;

/** Receives debug messages when debugging is on ({@link NbdHandle#setDebug}). */
@FunctionalInterface
public interface DebugCallback {
    /** @param context the name of the call or state that logged; @return ignored */
    int call(String context, String message);
}

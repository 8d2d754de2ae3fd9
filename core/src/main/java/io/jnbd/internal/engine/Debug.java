package io.jnbd.internal.engine;

/** Where the engine sends debug messages; cheap when debugging is off. */
public interface Debug {
    boolean enabled();

    void emit(String context, String message);

    default void log(String context, String message) {
        if (enabled()) {
            emit(context, message);
        }
    }
}

package io.jnbd.fuzz;

/**
 * One seed file of a fuzz target: {@code <target>Inputs/<method>/<name>}
 * under the module's test resources, and what it must still do. Core's
 * {@link SeedCorpus} and the server's seed corpus are lists of these, kept
 * honest by {@link SeedFiles}.
 */
public record Seed(Class<?> target, String method, String name, byte[] bytes, Check check) {
    /** Whether a seed does what it was written for. */
    public interface Check {
        boolean holds(byte[] data) throws Throwable;
    }

    public String path() {
        return target.getSimpleName() + "Inputs/" + method + "/" + name;
    }
}

/**
 * jnbd's embedded NBD server: {@link io.jnbd.server.NbdServer} serves
 * {@link io.jnbd.server.Backend}s (memory, file, null, pattern, or your own)
 * on TCP, a Unix socket, stdin/stdout or systemd-activated sockets.
 * {@link io.jnbd.server.NbdServerExtension} starts one in a JUnit 5 test.
 */
module io.jnbd.server {
    requires io.jnbd;
    requires static org.junit.jupiter.api;

    exports io.jnbd.server;
}

package io.jnbd.tools;

import io.jnbd.server.Backend;
import io.jnbd.server.NbdServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyStore;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The training run behind {@code tools/target/jnbd.aot}, the JVM's
 * ahead-of-time cache that {@code ./jnbd} starts with (JEP 483, 514, 515):
 * the classes the tools load, already parsed and linked, and the method
 * profiles that let the JIT compile the hot paths early.
 *
 * <p>The build runs this class once with {@code -XX:AOTCacheOutput}; it
 * runs each tool's common paths against an embedded server in this JVM, so
 * training needs no NBD server installed. Not a tool: its output is discarded.
 *
 * <p>TLS is trained against {@code jnbd serve} in a JVM of its own, with a
 * throw-away certificate from the JDK's keytool: a server in this JVM would
 * leave its profiles of the JSSE classes both sides share (encrypting where
 * the client decrypts) in the cache, which made TLS copies slower.
 */
final class AotTraining {
    private AotTraining() {
    }

    public static void main(String[] args) throws IOException, InterruptedException, GeneralSecurityException {
        Path dir = Files.createTempDirectory("jnbd-aot");
        Path file = dir.resolve("disk.img");
        Console quiet = new Console(InputStream.nullInputStream(),
                new java.io.PrintStream(OutputStream.nullOutputStream()),
                new java.io.PrintStream(OutputStream.nullOutputStream()), false);
        try (NbdServer server = NbdServer.builder()
                .export("", Backend.pattern(64L << 20))
                .unixSocket(dir.resolve("nbd.sock"))
                .start()) {
            String uri = server.uri();
            // Several rounds, so that the profiles the cache records are those of warm code.
            for (int round = 0; round < 2; round++) {
                run(quiet, "info", "--size", uri);
                run(quiet, "info", "--no-content", uri);
                run(quiet, "info", "--json", "--no-content", uri);
                run(quiet, "info", "--map", uri);
                run(quiet, "info", "--map", "--json", uri);
                run(quiet, "copy", uri, "null:");
                run(quiet, "copy", uri, file.toString());
                run(quiet, "dump", "--length=64K", uri);
            }
            trainTls(quiet, dir);
        } finally {
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    private static void trainTls(Console quiet, Path dir)
            throws IOException, InterruptedException, GeneralSecurityException {
        Path pki = Files.createDirectories(dir.resolve("pki"));
        writeCertificate(dir, pki);
        Path socket = dir.resolve("tls.sock");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process server = new ProcessBuilder(java, "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "serve", "--exit-with-parent", "--tls=require", "--tls-certificates=" + pki,
                "-U", socket.toString(), "pattern", "1G")
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.exists(socket)) {
                if (!server.isAlive() || System.nanoTime() > deadline) {
                    throw new IllegalStateException("training run failed: jnbd serve over TLS did not start");
                }
                Thread.sleep(20);
            }
            String uri = "nbds+unix:///?socket=" + socket + "&tls-certificates=" + pki;
            for (int round = 0; round < 2; round++) {
                run(quiet, "info", "--size", uri);
                run(quiet, "copy", "--no-extents", uri, "null:");
            }
        } finally {
            server.destroy();
            server.waitFor();
        }
    }

    /**
     * A self-signed certificate for localhost, made by keytool: the server's
     * certificate and key, and the client's CA, in libnbd's file layout.
     */
    private static void writeCertificate(Path dir, Path pki)
            throws IOException, InterruptedException, GeneralSecurityException {
        Path keystore = dir.resolve("training.p12");
        char[] password = "training".toCharArray();
        String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
        Process p = new ProcessBuilder(keytool, "-genkeypair", "-keystore", keystore.toString(), "-storetype",
                "PKCS12", "-storepass", new String(password), "-alias", "server", "-keyalg", "RSA", "-keysize", "2048",
                "-dname", "CN=localhost", "-ext", "SAN=dns:localhost", "-validity", "1")
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("keytool.log").toFile())
                .start();
        if (p.waitFor() != 0) {
            throw new IllegalStateException("training run failed: keytool exited with " + p.exitValue() + ": "
                    + Files.readString(dir.resolve("keytool.log")));
        }
        KeyStore ks = KeyStore.getInstance(keystore.toFile(), password);
        Key key = ks.getKey("server", password);
        String cert = pem("CERTIFICATE", ks.getCertificate("server").getEncoded());
        Files.writeString(pki.resolve("server-cert.pem"), cert);
        Files.writeString(pki.resolve("ca-cert.pem"), cert);
        Files.writeString(pki.resolve("server-key.pem"), pem("PRIVATE KEY", key.getEncoded()));
    }

    private static String pem(String label, byte[] der) {
        String body = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der);
        return String.join("\n", List.of("-----BEGIN " + label + "-----", body, "-----END " + label + "-----", ""));
    }

    private static void run(Console console, String... args) {
        int status = Main.run(console, args);
        if (status != 0) {
            throw new IllegalStateException("training run failed: jnbd " + String.join(" ", args));
        }
    }
}

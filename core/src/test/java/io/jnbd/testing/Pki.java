package io.jnbd.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Test credentials, made with GnuTLS's certtool and psktool into a temporary
 * directory, laid out as libnbd, nbdkit and qemu-nbd want them. Make them
 * once per test class: {@link #create()} takes about a second.
 *
 * <p>Server directories ({@code ca-cert.pem}, {@code server-cert.pem},
 * {@code server-key.pem}) are for {@code nbdkit --tls-certificates} and
 * qemu-nbd's {@code tls-creds-x509}; client directories ({@code ca-cert.pem},
 * optionally {@code client-cert.pem} and {@code client-key.pem}) for jnbd and
 * libnbd's {@code tls-certificates}. Keys are ECDSA (fast to make, certtool's
 * SEC1 form) except {@link #server}'s (qemu-nbd wants RSA) and the client's,
 * which is RSA in certtool's default PKCS#1 form; {@link #clientPkcs8} has the
 * same key in PKCS#8.
 */
public final class Pki implements AutoCloseable {
    /** The PSK user in {@link #psk} and {@link #wrongPsk}. */
    public static final String PSK_USER = "alice";

    public final Path root;
    /** Server: certificate for localhost, 127.0.0.1 and ::1, signed by the CA, with an RSA key. */
    public final Path server;
    /** Server: the same CA, but the certificate expired in 2002. */
    public final Path serverExpired;
    /** Server: a certificate for other.example only. */
    public final Path serverWrongHost;
    /** Server: a certificate the CA revoked (the CRL is in {@link #clientWithCrl}). */
    public final Path serverRevoked;
    /** Client: the CA only. */
    public final Path clientCaOnly;
    /** Client: the CA and a client certificate with its RSA key (PKCS#1). */
    public final Path client;
    /** Client: as {@link #client}, the key in PKCS#8. */
    public final Path clientPkcs8;
    /** Client: as {@link #client}, the key as SEC1 EC ({@code EC PRIVATE KEY}). */
    public final Path clientEc;
    /** Client: the CA and its CRL, which revokes {@link #serverRevoked}'s certificate. */
    public final Path clientWithCrl;
    /** Client: a different CA, which signed nothing the servers have. */
    public final Path clientOtherCa;
    /** psktool's file with {@link #PSK_USER}'s key. */
    public final Path psk;
    /** A psktool file with a different key for {@link #PSK_USER}. */
    public final Path wrongPsk;

    private Pki(Path root) {
        this.root = root;
        server = root.resolve("server");
        serverExpired = root.resolve("server-expired");
        serverWrongHost = root.resolve("server-wronghost");
        serverRevoked = root.resolve("server-revoked");
        clientCaOnly = root.resolve("client-ca-only");
        client = root.resolve("client");
        clientPkcs8 = root.resolve("client-pkcs8");
        clientEc = root.resolve("client-ec");
        clientWithCrl = root.resolve("client-crl");
        clientOtherCa = root.resolve("client-other-ca");
        psk = root.resolve("keys.psk");
        wrongPsk = root.resolve("wrong.psk");
    }

    /** Makes everything; needs certtool and psktool (skips, or fails under CI, without them). */
    public static Pki create() throws IOException, InterruptedException {
        String certtool = Servers.require("certtool");
        String psktool = Servers.require("psktool");
        Pki p = new Pki(Servers.tempDir());
        Path work = Files.createDirectories(p.root.resolve("work"));
        for (Path d : List.of(p.server, p.serverExpired, p.serverWrongHost, p.serverRevoked, p.clientCaOnly,
                p.client, p.clientPkcs8, p.clientEc, p.clientWithCrl, p.clientOtherCa)) {
            Files.createDirectories(d);
        }
        Path caKey = p.key(certtool, work.resolve("ca-key.pem"), "ecdsa");
        Path caCert = work.resolve("ca-cert.pem");
        p.cert(certtool, caCert, caKey, null, null, """
                cn = "jnbd test CA"
                ca
                cert_signing_key
                crl_signing_key
                expiration_days = 3650
                """);
        for (Path d : List.of(p.server, p.serverExpired, p.serverWrongHost, p.serverRevoked, p.clientCaOnly,
                p.client, p.clientPkcs8, p.clientEc, p.clientWithCrl)) {
            Files.copy(caCert, d.resolve("ca-cert.pem"));
        }
        String serverUsage = """
                tls_www_server
                signing_key
                encryption_key
                """;
        // qemu-nbd insists on key encipherment, which only an RSA key has.
        Files.writeString(p.server.resolve("server-key.pem"), pkcs8Pem(rsaKey()));
        p.cert(certtool, p.server.resolve("server-cert.pem"), p.server.resolve("server-key.pem"), caCert, caKey, """
                cn = "localhost"
                dns_name = "localhost"
                ip_address = "127.0.0.1"
                ip_address = "::1"
                expiration_days = 3650
                """ + serverUsage);
        p.serverCert(certtool, p.serverExpired, caCert, caKey, """
                cn = "localhost"
                dns_name = "localhost"
                ip_address = "127.0.0.1"
                activation_date = "2001-01-01 00:00:00"
                expiration_date = "2002-01-01 00:00:00"
                """ + serverUsage);
        p.serverCert(certtool, p.serverWrongHost, caCert, caKey, """
                cn = "other.example"
                dns_name = "other.example"
                expiration_days = 3650
                """ + serverUsage);
        p.serverCert(certtool, p.serverRevoked, caCert, caKey, """
                cn = "localhost"
                dns_name = "localhost"
                serial = 77
                expiration_days = 3650
                """ + serverUsage);
        Path crlTemplate = Files.writeString(work.resolve("crl.cfg"), "crl_next_update = 3650\ncrl_number = 1\n");
        run(List.of(certtool, "--generate-crl", "--load-ca-privkey", caKey.toString(), "--load-ca-certificate",
                caCert.toString(), "--load-certificate", p.serverRevoked.resolve("server-cert.pem").toString(),
                "--template", crlTemplate.toString(), "--outfile", p.clientWithCrl.resolve("ca-crl.pem").toString()));

        // certtool writes PKCS#8 only encrypted, so the RSA key is made here in PKCS#8 and certtool
        // converts it to its default PKCS#1 form.
        Path pkcs8Key = p.clientPkcs8.resolve("client-key.pem");
        Files.writeString(pkcs8Key, pkcs8Pem(rsaKey()));
        Path clientKey = p.client.resolve("client-key.pem");
        run(List.of(certtool, "--key-info", "--load-privkey", pkcs8Key.toString(), "--outfile",
                clientKey.toString()));
        String clientTemplate = """
                cn = "alice"
                tls_www_client
                signing_key
                encryption_key
                expiration_days = 3650
                """;
        p.cert(certtool, p.client.resolve("client-cert.pem"), clientKey, caCert, caKey, clientTemplate);
        Files.copy(p.client.resolve("client-cert.pem"), p.clientPkcs8.resolve("client-cert.pem"));
        Path ecKey = p.key(certtool, p.clientEc.resolve("client-key.pem"), "ecdsa");
        p.cert(certtool, p.clientEc.resolve("client-cert.pem"), ecKey, caCert, caKey, clientTemplate
                .replace("encryption_key\n", ""));

        Path otherKey = p.key(certtool, work.resolve("other-ca-key.pem"), "ecdsa");
        p.cert(certtool, p.clientOtherCa.resolve("ca-cert.pem"), otherKey, null, null, """
                cn = "some other CA"
                ca
                cert_signing_key
                expiration_days = 3650
                """);

        run(List.of(psktool, "-u", PSK_USER, "-p", p.psk.toString()));
        run(List.of(psktool, "-u", PSK_USER, "-p", p.wrongPsk.toString()));
        return p;
    }

    private static java.security.PrivateKey rsaKey() throws IOException {
        try {
            java.security.KeyPairGenerator g = java.security.KeyPairGenerator.getInstance("RSA");
            g.initialize(2048);
            return g.generateKeyPair().getPrivate();
        } catch (java.security.GeneralSecurityException e) {
            throw new IOException(e);
        }
    }

    private static String pkcs8Pem(java.security.PrivateKey key) {
        return "-----BEGIN PRIVATE KEY-----\n"
                + java.util.Base64.getMimeEncoder(64, "\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII))
                        .encodeToString(key.getEncoded())
                + "\n-----END PRIVATE KEY-----\n";
    }

    private void serverCert(String certtool, Path dir, Path caCert, Path caKey, String template)
            throws IOException, InterruptedException {
        Path key = key(certtool, dir.resolve("server-key.pem"), "ecdsa");
        cert(certtool, dir.resolve("server-cert.pem"), key, caCert, caKey, template);
    }

    private Path key(String certtool, Path out, String type, String... more) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(certtool, "--generate-privkey", "--key-type", type, "--outfile",
                out.toString()));
        cmd.addAll(List.of(more));
        run(cmd);
        return out;
    }

    /** A certificate for {@code key}: self-signed when {@code caCert} is null. */
    private void cert(String certtool, Path out, Path key, Path caCert, Path caKey, String template)
            throws IOException, InterruptedException {
        Path t = Files.writeString(root.resolve("work").resolve(out.getFileName() + "-" + out.getParent()
                .getFileName() + ".cfg"), template);
        List<String> cmd = new ArrayList<>(List.of(certtool, caCert == null ? "--generate-self-signed"
                : "--generate-certificate", "--load-privkey", key.toString(), "--template", t.toString(),
                "--outfile", out.toString()));
        if (caCert != null) {
            cmd.addAll(List.of("--load-ca-certificate", caCert.toString(), "--load-ca-privkey", caKey.toString()));
        }
        run(cmd);
    }

    /** Runs a tool quietly (certtool chats on stderr); its output is shown only if it fails. */
    private static void run(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (p.waitFor() != 0) {
            throw new IOException(cmd + " failed: " + new String(out, java.nio.charset.StandardCharsets.UTF_8));
        }
    }

    /** Removes everything. */
    @Override
    public void close() throws IOException {
        MoreServers.deleteTree(root);
    }
}

package io.jnbd.interop;

import io.jnbd.NbdException;
import io.jnbd.NbdHandle;
import io.jnbd.Tls;
import io.jnbd.testing.MoreServers;
import io.jnbd.testing.Pki;
import io.jnbd.testing.Servers;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * BouncyCastle is optional: in a JVM without its jars, X.509 TLS still works
 * and TLS-PSK fails with ENOTSUP, naming the jars, before anything is sent.
 */
class TlsWithoutBouncyCastleTest {

    /** Runs in the child JVM: prints one line per check for the test to read. */
    public static final class Child {
        public static void main(String[] args) {
            try {
                Class.forName("org.bouncycastle.tls.TlsClientProtocol");
                System.out.println("bouncycastle present");
            } catch (ClassNotFoundException e) {
                System.out.println("bouncycastle absent");
            }
            try (NbdHandle h = new NbdHandle()) {
                System.out.println("supportsTls " + h.supportsTls());
                h.setTls(Tls.REQUIRE);
                h.setTlsPskFile(args[1]);
                h.setTlsUsername(Pki.PSK_USER);
                h.connectUnix(args[0]);
                System.out.println("psk connected");
            } catch (NbdException e) {
                System.out.println("psk errno " + e.getErrno() + " " + e.getMessage());
            }
            try (NbdHandle h = new NbdHandle()) {
                h.setTls(Tls.REQUIRE);
                h.setTlsCertificates(args[3]);
                h.connectUnix(args[2]);
                System.out.println("x509 negotiated " + h.getTlsNegotiated() + " size " + h.getSize());
            }
        }
    }

    @Test
    void x509WorksAndPskSaysWhatIsMissing() throws Exception {
        Servers.require("nbdkit");
        Path dir = Servers.tempDir();
        try (Pki pki = Pki.create();
                Servers.Running psk = Servers.nbdkitUnix(Files.createDirectory(dir.resolve("psk")), "--tls=require",
                        "--tls-psk=" + pki.psk, "memory", "1M");
                Servers.Running x509 = Servers.nbdkitUnix(Files.createDirectory(dir.resolve("x509")),
                        "--tls=require", "--tls-certificates=" + pki.server, "memory", "2M")) {
            String classPath = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                    .filter(entry -> !entry.contains("bouncycastle"))
                    .collect(Collectors.joining(File.pathSeparator));
            Path out = dir.resolve("child.out");
            Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--enable-native-access=ALL-UNNAMED", "-cp", classPath, Child.class.getName(),
                    psk.socket.toString(), pki.psk.toString(), x509.socket.toString(), pki.clientCaOnly.toString())
                    .redirectOutput(out.toFile()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "child JVM did not finish");
            List<String> lines = Files.readAllLines(out, StandardCharsets.UTF_8);
            assertEquals(0, p.exitValue(), lines::toString);
            assertEquals("bouncycastle absent", lines.get(0));
            assertEquals("supportsTls true", lines.get(1));
            assertTrue(lines.get(2).startsWith("psk errno 95 connectUnix: TLS: TLS-PSK"), lines.get(2));
            assertTrue(lines.get(2).contains("needs BouncyCastle's TLS jars, which are missing: put bctls-jdk18on, "
                    + "bcprov-jdk18on and bcutil-jdk18on on the class path"), lines.get(2));
            assertEquals("x509 negotiated true size " + (2 << 20), lines.get(3));
        } finally {
            MoreServers.deleteTree(dir);
        }
    }
}

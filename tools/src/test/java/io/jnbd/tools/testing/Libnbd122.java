package io.jnbd.tools.testing;

import io.jnbd.testing.Servers;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * libnbd 1.22's own tools (and nbdkit 1.42, qemu 10), run in the Debian trixie
 * chroot that .ci/trixie.sh makes at /opt/trixie: the oracle whose output
 * jnbd's tools must match. /tmp is shared with the chroot, so servers, sockets
 * and files the tests make under /tmp are visible on both sides.
 */
public final class Libnbd122 {
    public static final Path ROOT = Path.of("/opt/trixie");

    private Libnbd122() {
    }

    /** Skips (fails under CI) unless the chroot is there with /tmp mounted into it. */
    public static void require() throws IOException {
        Servers.require(ROOT.resolve("usr/bin/nbdinfo"));
        Path probe = Files.createTempFile(Path.of("/tmp"), "jnbd-chroot", ".probe");
        try {
            if (!Files.exists(ROOT.resolve(Path.of("/").relativize(probe)))) {
                Servers.require(ROOT.resolve("tmp-is-not-mounted:run-.ci-trixie.sh"));
            }
        } finally {
            Files.delete(probe);
        }
    }

    /** Runs {@code cmd} (for example {@code nbdinfo --json URI}) inside the chroot, C locale. */
    public static Result run(String... cmd) throws IOException, InterruptedException {
        List<String> full = new ArrayList<>(List.of("chroot", ROOT.toString(), "env", "-i",
                "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", "HOME=/tmp"));
        full.addAll(List.of(cmd));
        Path out = Files.createTempFile("jnbd-oracle", ".out");
        Path err = Files.createTempFile("jnbd-oracle", ".err");
        try {
            Process p = new ProcessBuilder(full).redirectOutput(out.toFile()).redirectError(err.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("timed out: " + String.join(" ", cmd));
            }
            return new Result(p.exitValue(), Files.readAllBytes(out), Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** What a command printed and its exit status. */
    public record Result(int status, byte[] stdout, String stderr) {
        public String out() {
            return new String(stdout, StandardCharsets.UTF_8);
        }
    }
}

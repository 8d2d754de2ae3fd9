package io.jnbd.server;

import io.jnbd.testing.Servers;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Other people's NBD clients, the judges of this server: libnbd 1.22's tools
 * in the trixie chroot (.ci/trixie.sh; /tmp is shared with it, so a socket
 * under /tmp is reachable from inside), and host programs (qemu-img, fio).
 */
final class Oracle {
    static final Path TRIXIE = Path.of("/opt/trixie");

    private Oracle() {
    }

    /** What a program printed and its exit status. */
    record Result(int status, byte[] stdout, String stderr) {
        String out() {
            return new String(stdout, StandardCharsets.UTF_8);
        }
    }

    /** Skips (fails under CI) unless libnbd 1.22's tools are in the chroot. */
    static void requireLibnbd() {
        Servers.require(TRIXIE.resolve("usr/bin/nbdinfo"));
    }

    /** Runs a libnbd 1.22 tool (nbdinfo, nbdcopy, nbdsh) in the chroot, C locale. */
    static Result libnbd(String... cmd) throws IOException, InterruptedException {
        List<String> full = new ArrayList<>(List.of("chroot", TRIXIE.toString(), "env", "-i",
                "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", "HOME=/tmp"));
        full.addAll(List.of(cmd));
        return run(full);
    }

    /** Runs a host program found with {@link Servers#require(String)}. */
    static Result host(String program, String... args) throws IOException, InterruptedException {
        List<String> full = new ArrayList<>();
        full.add(Servers.require(program));
        full.addAll(List.of(args));
        return run(full);
    }

    static Result run(List<String> cmd) throws IOException, InterruptedException {
        Path out = Files.createTempFile("jnbd-oracle", ".out");
        Path err = Files.createTempFile("jnbd-oracle", ".err");
        try {
            Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile())
                    .redirectInput(new File("/dev/null")).start();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("timed out: " + cmd);
            }
            return new Result(p.exitValue(), Files.readAllBytes(out), Files.readString(err));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }
}

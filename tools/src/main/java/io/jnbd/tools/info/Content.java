package io.jnbd.tools.info;

import io.jnbd.NbdException;
import io.jnbd.NbdHandle;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The {@code content:} field: what file(1) says of the export's first 8 KiB,
 * as nbdinfo probes it. Best effort: no file(1), or a failed read, leaves
 * the field out.
 */
final class Content {
    private static final int PROBE_BYTES = 8192;

    /** Reads the start of the export (going from negotiation to transmission first) and runs file(1) on it. */
    String probe(NbdHandle h, long size) {
        if (h.aioIsNegotiating()) {
            h.optGo();
            // nbd-server 3.25 reports size 0 to NBD_OPT_INFO, the real size only to NBD_OPT_GO.
            if (size == 0) {
                size = h.getSize();
            }
        }
        byte[] start = new byte[(int) Math.min(size, PROBE_BYTES)];
        if (start.length > 0) {
            try {
                h.pread(start, 0);
            } catch (NbdException e) {
                return null;
            }
        }
        Path sample = null;
        try {
            sample = Files.createTempFile(Path.of("/tmp"), "jnbd-info", "");
            Files.write(sample, start);
            return firstLine(new ProcessBuilder("file", "-b", sample.toString())
                    .redirectError(ProcessBuilder.Redirect.DISCARD));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            if (sample != null) {
                try {
                    Files.deleteIfExists(sample);
                } catch (IOException ignored) {
                    // A temporary file left in /tmp is no reason to fail.
                }
            }
        }
    }

    private static String firstLine(ProcessBuilder file) throws IOException {
        Process p;
        try {
            p = file.start();
        } catch (IOException e) {
            return null; // no file(1) here
        }
        try (var reader = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line = reader.readLine();
            reader.transferTo(java.io.Writer.nullWriter());
            p.waitFor();
            return line;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroy();
            return null;
        }
    }
}

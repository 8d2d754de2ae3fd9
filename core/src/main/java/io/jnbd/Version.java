package io.jnbd;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** jnbd's version, from the build (src/main/resources-filtered). */
final class Version {
    static final String VERSION = load();

    private Version() {
    }

    private static String load() {
        try (InputStream in = Version.class.getResourceAsStream("version.properties")) {
            Properties p = new Properties();
            if (in != null) {
                p.load(in);
            }
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }
}

package io.jnbd.internal;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * libnbd's API description (libnbd-api.tsv, a copy of shared/libnbd-api.tsv):
 * for every call, the handle states in which it may be made. The one place
 * that decides whether a call is legal in a state.
 */
public final class ApiTable {
    /** libnbd's six public handle states, in the order of its HANDLE STATE tables. */
    public enum PublicState {
        CREATED("newly created"),
        CONNECTING("connecting"),
        NEGOTIATING("negotiating"),
        CONNECTED("connected with the server"),
        CLOSED("shut down"),
        DEAD("dead");

        final String text;

        PublicState(String text) {
            this.text = text;
        }
    }

    /** One call: its libnbd name, Java name, and permitted states. */
    public record Call(String cName, String javaName, Set<PublicState> permitted, String since) {
        public boolean allowedIn(PublicState s) {
            return permitted.contains(s);
        }

        /** libnbd's wording: "newly created, or negotiating". */
        public String permittedText() {
            StringBuilder b = new StringBuilder();
            for (PublicState s : PublicState.values()) {
                if (permitted.contains(s)) {
                    if (!b.isEmpty()) {
                        b.append(", or ");
                    }
                    b.append(s.text);
                }
            }
            return b.toString();
        }
    }

    private static final Map<String, Call> BY_JAVA_NAME = load();

    private ApiTable() {
    }

    /** Every call of libnbd-api.tsv, keyed by Java method name, in file order. */
    public static Map<String, Call> all() {
        return BY_JAVA_NAME;
    }

    /** The call with this Java name; an unknown name is a bug in jnbd. */
    public static Call call(String javaName) {
        Call c = BY_JAVA_NAME.get(javaName);
        if (c == null) {
            throw new IllegalArgumentException("not a libnbd call: " + javaName);
        }
        return c;
    }

    /** nbd_block_status_64 → blockStatus64 (API.md's naming rule). */
    public static String javaName(String cName) {
        StringBuilder b = new StringBuilder();
        boolean upper = false;
        for (char ch : cName.toCharArray()) {
            if (ch == '_') {
                upper = true;
            } else {
                b.append(upper ? Character.toUpperCase(ch) : ch);
                upper = false;
            }
        }
        return b.toString();
    }

    private static Map<String, Call> load() {
        Map<String, Call> m = new LinkedHashMap<>();
        try (InputStream in = ApiTable.class.getResourceAsStream("libnbd-api.tsv")) {
            if (in == null) {
                throw new IllegalStateException("libnbd-api.tsv missing from the jnbd jar");
            }
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            String line;
            while ((line = r.readLine()) != null) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                String[] f = line.split("\t", -1);
                String name = f[0];
                Call c = new Call(name, javaName(name), parseStates(f[4]), f[5]);
                m.put(c.javaName(), c);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Collections.unmodifiableMap(m);
    }

    private static Set<PublicState> parseStates(String field) {
        if (field.trim().equals("any")) {
            return Collections.unmodifiableSet(EnumSet.allOf(PublicState.class));
        }
        EnumSet<PublicState> s = EnumSet.noneOf(PublicState.class);
        for (String part : field.split(",")) {
            s.add(PublicState.valueOf(part.trim().toUpperCase()));
        }
        return Collections.unmodifiableSet(s);
    }
}

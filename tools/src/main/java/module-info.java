/** jnbd's command-line tools: info, copy, dump, sh (see shared/CLI.md). */
module io.jnbd.tools {
    requires io.jnbd;
    requires io.jnbd.server;
    requires info.picocli;
    requires com.fasterxml.jackson.databind;
    requires jdk.jshell;

    opens io.jnbd.tools to info.picocli;
    opens io.jnbd.tools.serve to info.picocli;
    opens io.jnbd.tools.info to info.picocli;
    opens io.jnbd.tools.dump to info.picocli;
    opens io.jnbd.tools.copy to info.picocli;
    // jnbd sh: picocli reads the options; the shell's snippets take h from io.jnbd.tools.sh.Handoff.
    opens io.jnbd.tools.sh to info.picocli;
    exports io.jnbd.tools.sh;
}

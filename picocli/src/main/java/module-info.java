/** picocli, as its own jar declares it (the same module name, so that users' descriptors need no change). */
module info.picocli {
    requires static java.sql;
    exports picocli;
}

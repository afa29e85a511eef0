package org.realmexport.worker;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The tar.gz part of each export file ({@code <exportDir>/.parts/<path with / as %2F>.tgz}, one
 * gzip member holding the file's tar entry), which the assembler concatenates into the tarball.
 */
final class TarGzParts {
    private TarGzParts() {
    }

    static void write(Path exportDir, String relativePath, Path file) throws IOException {
        // TODO(stack): wire org.realmexport.common.archive.TarGzPart here when branch `stack` lands
        // on main; until then no part is written and the assembler cannot pack this file.
    }
}

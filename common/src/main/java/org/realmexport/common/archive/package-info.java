/**
 * Tar.gz as a concatenation of gzip members: {@link org.realmexport.common.archive.TarGzPart}
 * writes one member per export file (by the worker that wrote the file, in parallel), the
 * end-of-archive member, and concatenates them into the tarball with its sha256.
 */
package org.realmexport.common.archive;

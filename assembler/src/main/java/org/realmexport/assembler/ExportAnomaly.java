package org.realmexport.assembler;

/**
 * Something in the export or its sources that makes it wrong (a missing upload, an unsafe stored
 * path, a file that does not match its task's report): the export is marked FAILED with this
 * message, which names what is wrong, and no tarball is published.
 */
final class ExportAnomaly extends Exception {
    ExportAnomaly(String message) {
        super(message);
    }
}

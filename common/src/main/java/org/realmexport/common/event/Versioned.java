package org.realmexport.common.event;

/** A topic record with a format version. */
public interface Versioned {
    /** The format version this code writes and the newest it reads. */
    int CURRENT = 1;

    int v();

    /** Throws when the record was written by a newer, incompatible format version. */
    default void checkVersion() {
        if (v() < 1 || v() > CURRENT) {
            throw new IllegalArgumentException("unsupported format version v=" + v()
                    + " (this build reads 1.." + CURRENT + ")");
        }
    }
}

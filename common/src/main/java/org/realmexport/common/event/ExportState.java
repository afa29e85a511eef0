package org.realmexport.common.event;

/** Life cycle of one export, as written to {@code realm-export.status}. */
public enum ExportState {
    /** The producer has posted every task. */
    PLANNED,
    /** At least one task result has arrived. */
    RUNNING,
    /** Every task has reported; the finalizer is writing attachments, uploads, manifest, tarball. */
    ASSEMBLING,
    SUCCEEDED,
    FAILED;

    public boolean terminal() {
        return this == SUCCEEDED || this == FAILED;
    }
}

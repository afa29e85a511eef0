package org.realmexport.assembler;

import org.realmexport.common.event.ExportStatus;
import org.realmexport.common.event.TaskResult;

/**
 * What the progress processor consumes: a worker's {@link TaskResult} or an {@link ExportStatus}
 * (PLANNED or FAILED from the producer; a FAILED the assembler sent itself comes back too, and is
 * ignored).
 * Both inputs are merged into one stream, keyed by export id, and passed on in memory (no topic
 * in between). Exactly one field is set.
 */
record AssemblerEvent(TaskResult result, ExportStatus status) {

    static AssemblerEvent of(TaskResult result) {
        return new AssemblerEvent(result, null);
    }

    static AssemblerEvent of(ExportStatus status) {
        return new AssemblerEvent(null, status);
    }

    String exportId() {
        return result != null ? result.exportId() : status.exportId();
    }
}

package org.realmexport.assembler;

import org.realmexport.common.event.ExportState;
import org.realmexport.common.event.ExportStatus;
import org.realmexport.common.event.TaskResult;

import java.util.Map;
import java.util.TreeMap;

/**
 * The assembler's record of one export, in the {@code assembler-exports} store keyed by export id.
 * Small by construction (a status, counters, one row count per table), whatever the size of the
 * export: the per-task results live in their own store, one entry per task.
 *
 * @param phase        where the export stands in the assembler
 * @param planned      the producer's PLANNED status (null until it arrives): realm, type, output ...
 * @param tasksPlanned from the plan, or from the first result when the plan has not arrived yet
 * @param tasksDone    distinct task ids reported
 * @param rows         rows per table reported so far
 * @param error        the first anomaly (a failed task, a count that does not add up)
 * @param firstSeenAt  epoch ms of the first event
 * @param reportedAt   epoch ms of the last RUNNING status sent (throttling)
 * @param endedAt      epoch ms when the export became SUCCEEDED or FAILED (retention)
 * @param bytesWritten sizes of the files the tasks reported, summed (0 in a store of an earlier version)
 */
record ExportProgress(Phase phase, ExportStatus planned, int tasksPlanned, int tasksDone,
                      Map<String, Long> rows, String error, long firstSeenAt, long reportedAt, long endedAt,
                      long bytesWritten) {

    enum Phase {
        /** Waiting for results (and for the plan). */
        COLLECTING,
        /**
         * Earlier versions' phase between sending ASSEMBLING and finalizing; a store restored from
         * them may hold it, and it is treated as FINALIZING.
         */
        ASSEMBLING,
        /** ASSEMBLING sent and the export handed to a finalizer; handed again after a restart until it answers. */
        FINALIZING,
        SUCCEEDED,
        FAILED;

        boolean terminal() {
            return this == SUCCEEDED || this == FAILED;
        }

        boolean finalizing() {
            return this == FINALIZING || this == ASSEMBLING;
        }
    }

    static ExportProgress first(long now) {
        return new ExportProgress(Phase.COLLECTING, null, 0, 0, new TreeMap<>(), null, now, 0L, 0L, 0L);
    }

    ExportProgress withPlanned(ExportStatus status) {
        String err = error;
        if (err == null && tasksPlanned != 0 && status.tasksPlanned() != tasksPlanned) {
            err = "the plan has " + status.tasksPlanned() + " tasks but task results say " + tasksPlanned;
        }
        return new ExportProgress(phase, status, status.tasksPlanned(), tasksDone, rows, err, firstSeenAt,
                reportedAt, endedAt, bytesWritten);
    }

    /** Counts a result whose task id was not seen before. */
    ExportProgress withResult(TaskResult result) {
        Map<String, Long> merged = new TreeMap<>(rows);
        if (result.rows() != null) {
            result.rows().forEach((table, n) -> merged.merge(table, n == null ? 0L : n, Long::sum));
        }
        long bytes = bytesWritten + result.bytesWritten();
        int planned = tasksPlanned != 0 ? tasksPlanned : result.tasksPlanned();
        String err = error;
        if (err == null && result.failed()) {
            err = "task " + result.taskId() + " failed" + (result.worker() == null ? "" : " on " + result.worker())
                    + ": " + result.error();
        }
        if (err == null && result.tasksPlanned() != planned) {
            err = "task " + result.taskId() + " says the export has " + result.tasksPlanned()
                    + " tasks, the plan has " + planned;
        }
        if (err == null && tasksDone + 1 > planned) {
            err = (tasksDone + 1) + " distinct tasks reported but only " + planned + " were planned"
                    + " (last: " + result.taskId() + ")";
        }
        return new ExportProgress(phase, planned(), planned, tasksDone + 1, merged, err, firstSeenAt, reportedAt,
                endedAt, bytes);
    }

    ExportProgress withError(String anomaly) {
        return new ExportProgress(phase, planned, tasksPlanned, tasksDone, rows, error != null ? error : anomaly,
                firstSeenAt, reportedAt, endedAt, bytesWritten);
    }

    ExportProgress in(Phase newPhase, long now) {
        return new ExportProgress(newPhase, planned, tasksPlanned, tasksDone, rows, error, firstSeenAt, reportedAt,
                newPhase.terminal() ? now : endedAt, bytesWritten);
    }

    ExportProgress reported(long now) {
        return new ExportProgress(phase, planned, tasksPlanned, tasksDone, rows, error, firstSeenAt, now, endedAt,
                bytesWritten);
    }

    boolean complete() {
        return planned != null && tasksDone == tasksPlanned;
    }

    /** The status to send: the plan with this progress, in {@code state}. */
    ExportStatus status(ExportState state, String anomaly) {
        return planned.withProgress(tasksDone, new TreeMap<>(rows), tasksDone == 0 ? null : bytesWritten)
                .withState(state, anomaly);
    }
}

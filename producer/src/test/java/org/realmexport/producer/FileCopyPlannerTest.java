package org.realmexport.producer;

import org.junit.jupiter.api.Test;
import org.realmexport.common.event.ExportTask;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** How the copy of files is cut into batches: by files and bytes, contiguous ranges, the same every time. */
class FileCopyPlannerTest {
    private static final long MIB = 1024 * 1024;

    private static List<FileCopyPlanner.Batch> cut(int maxRows, long maxBytes, long[][] rows) {
        FileCopyPlanner.Cutter cutter = new FileCopyPlanner.Cutter(ExportTask.Kind.UPLOADS, maxRows, maxBytes);
        for (long[] row : rows) {
            cutter.add(row[0], row[1]);
        }
        return cutter.finish();
    }

    private static long[][] files(int n, long firstId, long size) {
        long[][] rows = new long[n][];
        for (int i = 0; i < n; i++) {
            rows[i] = new long[] {firstId + 3L * i, size};
        }
        return rows;
    }

    @Test
    void aBatchHoldsAtMostFiveHundredFilesAndTheRangesCoverEveryId() {
        List<FileCopyPlanner.Batch> batches = cut(FileCopyPlanner.FILES, FileCopyPlanner.BYTES, files(1201, 10, 1000));
        assertThat(batches).extracting(FileCopyPlanner.Batch::rows).containsExactly(500, 500, 201);
        assertThat(batches).extracting(FileCopyPlanner.Batch::number).containsExactly(1, 2, 3);
        // ids 10, 13, ...: batch 1 ends at the 500th (10 + 3 * 499), the next starts right after it
        assertThat(batches).extracting(b -> b.firstId() + ".." + b.lastId())
                .containsExactly("0..1507", "1508..3007", "3008.." + Long.MAX_VALUE);
        assertThat(batches).allSatisfy(b -> assertThat(b.kind()).isEqualTo(ExportTask.Kind.UPLOADS));
    }

    @Test
    void aBatchHoldsAtMost256MiBAndALargerFileIsABatchOfItsOwn() {
        long[][] rows = {{1, 100 * MIB}, {2, 100 * MIB}, {3, 100 * MIB}, {4, 300 * MIB}, {5, 1}, {6, 256 * MIB}};
        List<FileCopyPlanner.Batch> batches = cut(FileCopyPlanner.FILES, FileCopyPlanner.BYTES, rows);
        assertThat(batches).extracting(b -> b.firstId() + ".." + b.lastId() + ":" + b.rows())
                .containsExactly("0..2:2", "3..3:1", "4..4:1", "5..5:1", "6.." + Long.MAX_VALUE + ":1");
    }

    @Test
    void noRowsIsStillOneBatchCoveringEveryId() {
        // a row added after planning (an upload, an avatar) still belongs to a batch
        assertThat(cut(FileCopyPlanner.PAIRS, Long.MAX_VALUE, new long[0][]))
                .containsExactly(new FileCopyPlanner.Batch(ExportTask.Kind.UPLOADS, 1, 0, Long.MAX_VALUE, 0, 0));
    }

    @Test
    void theSameRowsGiveTheSameBatches() {
        long[][] rows = files(777, 5, 400_000);
        assertThat(cut(FileCopyPlanner.FILES, FileCopyPlanner.BYTES, rows))
                .isEqualTo(cut(FileCopyPlanner.FILES, FileCopyPlanner.BYTES, rows.clone()));
        // 777 files of 400 kB: 256 MiB would be 671 of them, so the file count cuts first
        assertThat(cut(FileCopyPlanner.FILES, FileCopyPlanner.BYTES, rows)).extracting(FileCopyPlanner.Batch::rows)
                .containsExactly(500, 277);
    }
}

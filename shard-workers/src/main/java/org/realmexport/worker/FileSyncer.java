package org.realmexport.worker;

import org.realmexport.common.storage.ExportStore;
import org.realmexport.common.storage.ExportStores;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URI;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Makes a task's published files durable on a thread of its own. A message shard's files (1.4 GB
 * of JSON and parts per 1M messages) are published without waiting for the disk; the task thread
 * goes on with the next task of its batch, reading and writing, while this thread waits for the
 * disk, and the loop commits the batch's results, which promise the files, only once their syncs
 * are done. Waiting in the task thread instead left a core idle for every sync (measured at 300k
 * messages: 1551 syncs, 0.65 s of waiting per worker and export). One thread: the syncs of one
 * disk gain nothing from running side by side, and they finish in the order of the tasks.
 */
final class FileSyncer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FileSyncer.class);

    private final ExportStores stores;
    private final ExecutorService thread;

    FileSyncer(ExportStores stores, String name) {
        this.stores = stores;
        this.thread = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
    }

    /** Syncs {@code paths} of the export directory {@code output}; the future fails when a sync does. */
    Future<?> sync(String exportId, URI output, List<String> paths) {
        return thread.submit(() -> {
            try (ExportStore store = stores.open(output)) {
                store.sync(paths);
            } catch (IOException | RuntimeException e) {
                LOG.warn("export {}: writing {} files to disk in {} failed ({}); their tasks will be redone. If it"
                        + " persists, check the disk of the export directory.", exportId, paths.size(),
                        ExportStores.display(output), e.toString());
                throw e;
            }
            return null;
        });
    }

    @Override
    public void close() {
        thread.shutdownNow();
    }
}

package org.realmexport.assembler;

import org.apache.kafka.streams.state.RocksDBConfigSetter;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.Cache;
import org.rocksdb.LRUCache;
import org.rocksdb.Options;
import org.rocksdb.WriteBufferManager;

import java.util.Map;

/**
 * Puts every RocksDB store of this process under one memory budget ({@code rocksdb.memory.bytes}).
 * By default Kafka Streams gives each store of each partition its own 50 MB block cache and up to
 * three 16 MB memtables, so the assembler's resident memory grew with the exports it held (two
 * stores times the results topic's partitions) instead of staying flat. Here all of them share
 * one LRU cache, and their memtables are charged to that same cache.
 */
public final class BoundedRocksDbMemory implements RocksDBConfigSetter {
    /** Key (passed through the Streams properties) of the budget in bytes. */
    static final String MEMORY_BYTES = "realm-export.rocksdb.memory.bytes";
    /** Share of the budget that memtables may hold; the rest caches blocks. */
    private static final double MEMTABLE_SHARE = 0.5;

    private static Cache cache;
    private static WriteBufferManager writeBuffers;

    @Override
    public void setConfig(String storeName, Options options, Map<String, Object> configs) {
        long budget = Long.parseLong(String.valueOf(configs.get(MEMORY_BYTES)));
        BlockBasedTableConfig table = (BlockBasedTableConfig) options.tableFormatConfig();
        synchronized (BoundedRocksDbMemory.class) {
            if (cache == null) {
                // one budget per process: the stores open and close as partitions move, the budget stays
                cache = new LRUCache(budget, -1, false, 0.1);
                writeBuffers = new WriteBufferManager((long) (budget * MEMTABLE_SHARE), cache);
            }
            table.setBlockCache(cache);
            options.setWriteBufferManager(writeBuffers);
        }
        table.setCacheIndexAndFilterBlocks(true);
        table.setCacheIndexAndFilterBlocksWithHighPriority(true);
        table.setPinTopLevelIndexAndFilter(true);
        options.setTableFormatConfig(table);
        // small memtables: each store holds a few hundred KB of results per export
        options.setWriteBufferSize(Math.max(1 << 20, (long) (budget * MEMTABLE_SHARE) / 8));
        options.setMaxWriteBufferNumber(2);
    }

    @Override
    public void close(String storeName, Options options) {
        // the cache and the write buffer manager are shared by every store: they live as long as the process
    }
}

package org.realmexport.producer;

import org.realmexport.common.ExportType;
import org.realmexport.common.db.Database;
import org.realmexport.common.db.RealmScope;
import org.realmexport.common.db.SchemaCatalog;
import org.realmexport.common.db.UserScope;
import org.realmexport.common.db.ZulipTables;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Fixes an export's scope: the watermark (the highest message id when planning starts) and the
 * shards, cut from the realm's exportable message ids (the {@link RealmScope} predicate) read in
 * keyset pages of {@link #PAGE_SIZE}, streamed {@link #FETCH_SIZE} ids at a time, so that no more
 * than a few thousand ids are ever in memory.
 * A shard keeps only its first id, last id and count.
 */
final class ExportPlanner {
    /** Messages per file, as Zulip's MESSAGE_BATCH_CHUNK_SIZE: every file but the last has exactly this many. */
    static final int SHARD_SIZE = 1000;

    /**
     * Ids per keyset page: a whole number of shards, so page and shard boundaries coincide. One
     * page per shard cost ~22 ms a query (1M messages: 22 s of planning); 50 shards a page cut
     * that fifty-fold while the ids still stream through the driver {@link #FETCH_SIZE} at a time.
     */
    static final int PAGE_SIZE = 50 * SHARD_SIZE;
    static final int FETCH_SIZE = 5 * SHARD_SIZE;

    /**
     * The tables of Zulip's schema in the database that {@link ZulipTables} does not classify:
     * a newer Zulip's, whose rows an export would lose without a word. Read from the catalog as
     * it is now (not the process's cached one): Zulip may have been upgraded since start-up.
     */
    List<String> unknownTables() throws SQLException {
        return inSnapshot((c, catalog) -> ZulipTables.unknown(SchemaCatalog.read(c).tableNames()));
    }

    /** A realm found by id or string_id. */
    record Realm(long id, String stringId) {
    }

    /** The planned scope: shard k (1-based) is {@code firstIds[k-1]..lastIds[k-1]} with {@code counts[k-1]} messages. */
    record Plan(long watermark, long[] firstIds, long[] lastIds, int[] counts, long messages) {
        int shards() {
            return firstIds.length;
        }
    }

    private final Database database;
    private final String systemBotRealm;

    ExportPlanner(Database database, String systemBotRealm) {
        this.database = database;
        this.systemBotRealm = systemBotRealm;
    }

    /** The realm a request names: its numeric id, else its string_id ({@code ""} is the root-domain realm). */
    Optional<Realm> findRealm(String realm) throws SQLException {
        return inSnapshot((c, catalog) -> {
            if (realm.matches("\\d{1,18}")) {
                Optional<Realm> byId = query(c, "SELECT id, string_id FROM zerver_realm WHERE id = ?", Long.parseLong(realm));
                if (byId.isPresent()) {
                    return byId;
                }
            }
            return query(c, "SELECT id, string_id FROM zerver_realm WHERE string_id = ?", realm);
        });
    }

    private static Optional<Realm> query(Connection c, String sql, Object param) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setObject(1, param);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(new Realm(rs.getLong(1), rs.getString(2))) : Optional.empty();
            }
        }
    }

    /**
     * Why an export of {@code type} of the realm would be unusable after import (no usable
     * owner), as Zulip refuses it; empty when it is usable.
     */
    Optional<String> unusableReason(long realmId, ExportType type) throws SQLException {
        return inSnapshot((c, catalog) -> RealmScope.resolve(c, catalog, realmId, type, systemBotRealm).unusableReason(c));
    }

    /** The user of the realm a single-user request names (an id or an email), if there is one. */
    Optional<Long> findUser(long realmId, String user) throws SQLException {
        return inSnapshot((c, catalog) -> UserScope.findUser(c, realmId, user));
    }

    /**
     * Plans an export of {@code realmId}. One REPEATABLE READ snapshot covers the watermark and
     * every page, so the shards are exactly the exportable ids at that moment.
     */
    Plan plan(long realmId, ExportType type) throws SQLException {
        return inSnapshot((c, catalog) -> {
            // the scope's id sets evaluated once, in this snapshot, rather than by every page
            RealmScope scope = RealmScope.resolve(c, catalog, realmId, type, systemBotRealm).materialized(c);
            return plan(c, scope.messageIdPage(PAGE_SIZE));
        });
    }

    /** The batches copying the realm's files ({@link FileCopyPlanner}). */
    List<FileCopyPlanner.Batch> fileCopies(long realmId) throws SQLException {
        return inSnapshot((c, catalog) -> FileCopyPlanner.plan(c, catalog, realmId));
    }

    /** The batches copying the files of the single-user export of {@code userId} ({@link FileCopyPlanner#planUser}). */
    List<FileCopyPlanner.Batch> userFileCopies(long realmId, long userId) throws SQLException {
        return inSnapshot((c, catalog) -> FileCopyPlanner.planUser(c, catalog, UserScope.of(catalog, realmId, userId)));
    }

    /** Plans the single-user export of {@code userId}: its messages ({@link UserScope}), 1000 a file as for a realm. */
    Plan planUser(long realmId, long userId) throws SQLException {
        return inSnapshot((c, catalog) -> plan(c, UserScope.of(catalog, realmId, userId).messageIdPage(PAGE_SIZE)));
    }

    /** What a planner step reads in one read-only transaction. */
    @FunctionalInterface
    private interface Reading<T> {
        T read(Connection c, SchemaCatalog catalog) throws SQLException;
    }

    /**
     * Runs {@code reading} on a pooled connection and ends its transaction (read-only: rolled back).
     * The catalog is taken first: reading it takes a connection of its own.
     */
    private <T> T inSnapshot(Reading<T> reading) throws SQLException {
        SchemaCatalog catalog = database.catalog();
        try (Connection c = database.connection()) {
            try {
                return reading.read(c, catalog);
            } finally {
                c.rollback();
            }
        }
    }

    /** The watermark and the shards of the ids {@code pageSql} pages through (parameters: afterId, watermark). */
    private static Plan plan(Connection c, String pageSql) throws SQLException {
        long watermark;
        try (PreparedStatement ps = c.prepareStatement("SELECT COALESCE(max(id), 0) FROM zerver_message");
             ResultSet rs = ps.executeQuery()) {
            rs.next();
            watermark = rs.getLong(1);
        }
        ShardList shards = new ShardList();
        long last = 0;
        try (PreparedStatement ps = c.prepareStatement(pageSql)) {
            ps.setFetchSize(FETCH_SIZE);
            while (true) {
                ps.setLong(1, last);
                ps.setLong(2, watermark);
                long first = -1;
                int inShard = 0;
                int inPage = 0;
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        last = rs.getLong(1);
                        inPage++;
                        if (inShard++ == 0) {
                            first = last;
                        }
                        if (inShard == SHARD_SIZE) {
                            shards.add(first, last, inShard);
                            inShard = 0;
                        }
                    }
                }
                if (inShard > 0) {
                    shards.add(first, last, inShard);
                }
                if (inPage < PAGE_SIZE) {
                    break;
                }
            }
        }
        return shards.toPlan(watermark);
    }

    /** Growable primitive arrays: 20 bytes a shard, so even 100M messages plan in 2 MB. */
    private static final class ShardList {
        private long[] first = new long[64];
        private long[] last = new long[64];
        private int[] count = new int[64];
        private int size;
        private long messages;

        void add(long f, long l, int n) {
            if (size == first.length) {
                first = Arrays.copyOf(first, size * 2);
                last = Arrays.copyOf(last, size * 2);
                count = Arrays.copyOf(count, size * 2);
            }
            first[size] = f;
            last[size] = l;
            count[size] = n;
            size++;
            messages += n;
        }

        Plan toPlan(long watermark) {
            return new Plan(watermark, Arrays.copyOf(first, size), Arrays.copyOf(last, size),
                    Arrays.copyOf(count, size), messages);
        }
    }
}

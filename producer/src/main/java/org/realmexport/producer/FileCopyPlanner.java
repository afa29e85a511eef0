package org.realmexport.producer;

import org.realmexport.common.db.SchemaCatalog;
import org.realmexport.common.db.UserScope;
import org.realmexport.common.event.ExportTask;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * Plans the copy of an export's files as batches for the shard workers, one kind per file category:
 * attachments (their uploads) by id, users with an uploaded avatar by id, realm emoji by id, and one
 * batch for the realm's icons and logos. A batch holds about {@link #FILES} files or
 * {@link #BYTES} bytes of uploads, whichever comes first.
 *
 * <p>Batches are id ranges that together cover every id ({@code [0, Long.MAX_VALUE]}) and each
 * category has at least one, so a row added after planning still belongs to exactly one batch, and
 * the same rows give the same batches. What a batch copies is decided when it runs, from the rows
 * in its range then (a worker copies only what the export may hold).
 */
public final class FileCopyPlanner {
    /** Files per batch: a few seconds of copying, a records report of a few hundred KB. */
    public static final int FILES = 500;
    /** Bytes of uploads per batch, so that a batch of large files is no longer than one of small ones. */
    public static final long BYTES = 256L * 1024 * 1024;
    /**
     * Users (avatars) and emoji per batch: each has up to two files (the image and its
     * {@code .original}), so {@link #FILES} files.
     */
    public static final int PAIRS = FILES / 2;

    /**
     * One planned batch: {@code [firstId, lastId]} of its kind's rows, how many rows it had at
     * planning and their uploads' bytes as zerver_attachment records them (0 where unknown).
     */
    public record Batch(ExportTask.Kind kind, int number, long firstId, long lastId, int rows, long bytes) {
    }

    private FileCopyPlanner() {
    }

    /** The batches of a realm's files, in kind order (uploads, avatars, emoji, realm icons), each numbered from 1. */
    public static List<Batch> plan(Connection c, SchemaCatalog catalog, long realmId) throws SQLException {
        List<Batch> batches = plan(c, catalog, realmId, "true", "true", "true");
        batches.addAll(new Cutter(ExportTask.Kind.REALM_ICONS, FILES, Long.MAX_VALUE).finish());
        return batches;
    }

    /**
     * The batches of a single-user export's files: the user's own attachments, avatar and custom
     * emoji ({@link UserScope}), in kind order; no realm icons (Zulip's single-user export has none).
     */
    public static List<Batch> planUser(Connection c, SchemaCatalog catalog, UserScope scope) throws SQLException {
        return plan(c, catalog, scope.realmId(), scope.attachmentPredicate("zerver_attachment"),
                scope.avatarUserPredicate("zerver_userprofile"), scope.emojiPredicate("zerver_realmemoji"));
    }

    /** Uploads, avatars and emoji batches of the realm's rows that the three predicates keep. */
    private static List<Batch> plan(Connection c, SchemaCatalog catalog, long realmId, String attachments,
                                    String users, String emojis) throws SQLException {
        List<Batch> batches = new ArrayList<>();
        Cutter uploads = new Cutter(ExportTask.Kind.UPLOADS, FILES, BYTES);
        String size = catalog.hasColumn("zerver_attachment", "size") ? "COALESCE(size, 0)" : "0";
        scan(c, "SELECT id, " + size + " FROM zerver_attachment WHERE realm_id = ? AND " + attachments + " ORDER BY id",
                realmId, uploads);
        batches.addAll(uploads.finish());

        Cutter avatars = new Cutter(ExportTask.Kind.AVATARS, PAIRS, Long.MAX_VALUE);
        scan(c, "SELECT id, 0 FROM zerver_userprofile WHERE realm_id = ? AND avatar_source <> 'G' AND " + users
                + " ORDER BY id", realmId, avatars);
        batches.addAll(avatars.finish());

        Cutter emoji = new Cutter(ExportTask.Kind.EMOJI, PAIRS, Long.MAX_VALUE);
        if (catalog.hasTable("zerver_realmemoji")) {
            scan(c, "SELECT id, 0 FROM zerver_realmemoji WHERE realm_id = ? AND file_name IS NOT NULL AND " + emojis
                    + " ORDER BY id", realmId, emoji);
        }
        batches.addAll(emoji.finish());
        return batches;
    }

    private static void scan(Connection c, String sql, long realmId, Cutter cutter) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setFetchSize(10_000);
            ps.setLong(1, realmId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    cutter.add(rs.getLong(1), rs.getLong(2));
                }
            }
        }
    }

    /**
     * Cuts ascending ids into contiguous ranges of at most {@code maxRows} rows and, past the
     * first row, {@code maxBytes} bytes: a row larger than that is a batch of its own.
     */
    static final class Cutter {
        private final ExportTask.Kind kind;
        private final int maxRows;
        private final long maxBytes;
        private final List<Batch> batches = new ArrayList<>();
        private long first;
        private long last = -1;
        private int rows;
        private long bytes;

        Cutter(ExportTask.Kind kind, int maxRows, long maxBytes) {
            this.kind = kind;
            this.maxRows = maxRows;
            this.maxBytes = maxBytes;
        }

        void add(long id, long size) {
            if (rows > 0 && (rows == maxRows || bytes + size > maxBytes)) {
                batches.add(new Batch(kind, batches.size() + 1, first, last, rows, bytes));
                first = last + 1;
                rows = 0;
                bytes = 0;
            }
            last = id;
            rows++;
            bytes += size;
        }

        /** The batches; the last one's range is open-ended, and there is one even without rows. */
        List<Batch> finish() {
            batches.add(new Batch(kind, batches.size() + 1, first, Long.MAX_VALUE, rows, bytes));
            return List.copyOf(batches);
        }
    }
}

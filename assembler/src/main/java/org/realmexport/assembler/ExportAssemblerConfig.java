package org.realmexport.assembler;

import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.types.Password;
import org.realmexport.common.archive.TarGzPart;
import org.realmexport.common.config.RealmExportConfig;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * Settings of the {@link ExportAssembler}: the shared ones of {@link RealmExportConfig}
 * ({@code bootstrap.servers}, {@code topic.prefix}, {@code jdbc.url}, {@code uploads.dir} ...)
 * plus the assembler's own, each with a documented default.
 */
public class ExportAssemblerConfig extends RealmExportConfig {
    public static final String STATE_DIR = "state.dir";
    public static final String STREAM_THREADS = "stream.threads";
    public static final String COMMIT_INTERVAL_MS = "commit.interval.ms";
    public static final String FINALIZER_THREADS = "finalizer.threads";
    public static final String PROGRESS_INTERVAL_MS = "progress.interval.ms";
    public static final String RESULTS_RETENTION_MS = "results.retention.ms";
    public static final String AVATAR_SALT = "avatar.salt";
    public static final String GZIP_LEVEL = "gzip.level";
    public static final String STATESTORE_CACHE_MAX_BYTES = "statestore.cache.max.bytes";
    public static final String ROCKSDB_MEMORY_BYTES = "rocksdb.memory.bytes";

    /**
     * Empty: a directory of this process's own under the temporary directory, so that two
     * assemblers on one host never share (and lock each other out of) one state directory.
     */
    static final String DEFAULT_STATE_DIR = "";

    private static final ConfigDef CONFIG = baseConfigDef()
            .define(STATE_DIR, Type.STRING, DEFAULT_STATE_DIR, Importance.HIGH,
                    "Directory of the Kafka Streams state (RocksDB) of the assembler. Losing it is safe"
                            + " (the state is restored from its changelog topics), only slower to start. Empty: "
                            + "<tmpdir>/realm-export-assembler-<pid>, one per process (give a lasting one to restart faster).")
            .define(STREAM_THREADS, Type.INT, 1, Range.atLeast(1), Importance.LOW,
                    "Kafka Streams threads; they only count results, one is plenty.")
            .define(COMMIT_INTERVAL_MS, Type.LONG, 1000L, Range.atLeast(1), Importance.LOW,
                    "Kafka Streams commit interval (exactly-once transactions). A status the"
                            + " assembler decides becomes visible after the next commit (an export's end is committed"
                            + " at once). Each commit is a"
                            + " Kafka transaction (markers on every partition it wrote): 100 ms cost the"
                            + " broker 4-5 of its 11 CPU seconds in a 50-second export, for no visible gain.")
            .define(FINALIZER_THREADS, Type.INT, 2, Range.atLeast(1), Importance.MEDIUM,
                    "Exports finalized at once by this instance (attachments, uploads, manifest, tarball).")
            .define(PROGRESS_INTERVAL_MS, Type.LONG, 1000L, Range.atLeast(0), Importance.LOW,
                    "At most one RUNNING progress status per export per interval.")
            .define(RESULTS_RETENTION_MS, Type.LONG, Duration.ofDays(7).toMillis(), Range.atLeast(0),
                    Importance.LOW,
                    "How long the task results and progress of a finished export stay in the state"
                            + " stores (a late duplicate result within it is recognised and ignored).")
            .define(AVATAR_SALT, Type.PASSWORD, null, Importance.MEDIUM,
                    "Zulip's avatar_salt secret (/etc/zulip/zulip-secrets.conf). Local avatar files are"
                            + " named by a salted hash of the user id: without it, an export of a realm with"
                            + " uploaded avatars fails (unless uploads.allow.missing).")
            .define(STATESTORE_CACHE_MAX_BYTES, Type.LONG, 0L, Range.atLeast(0), Importance.LOW,
                    "Kafka Streams record cache. The assembler's stores write through (each task result is"
                            + " written once), so the default 0 only saves a copy.")
            .define(ROCKSDB_MEMORY_BYTES, Type.LONG, 16L << 20, Range.atLeast(1L << 20), Importance.LOW,
                    "Off-heap memory shared by all the assembler's RocksDB state stores (block cache and"
                            + " memtables together), whatever the number of partitions and exports it holds.")
            .define(GZIP_LEVEL, Type.INT, TarGzPart.DEFAULT_LEVEL, Range.between(0, 9), Importance.LOW,
                    "gzip level of the tarball parts the assembler writes (its own files and the copied uploads).");

    public ExportAssemblerConfig(Map<?, ?> originals) {
        super(CONFIG, originals);
    }

    public static ConfigDef configDef() {
        return new ConfigDef(CONFIG);
    }

    /** The salt, or null when none is configured. Never logged. */
    String avatarSalt() {
        Password salt = getPassword(AVATAR_SALT);
        return salt == null ? null : salt.value();
    }

    /** The state directory: {@code state.dir}, or one of this process's own. */
    public String stateDir() {
        String dir = getString(STATE_DIR);
        return dir == null || dir.isBlank()
                ? Path.of(System.getProperty("java.io.tmpdir"), "realm-export-assembler-" + ProcessHandle.current().pid()).toString()
                : dir;
    }
}

package org.realmexport.cli;

import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.KafkaException;
import org.realmexport.common.storage.ExportStores;
import org.realmexport.common.config.RealmExportConfig;
import org.realmexport.common.event.ExportState;
import org.realmexport.common.event.ExportStatus;
import org.realmexport.common.topic.ConsumerLag;
import org.realmexport.common.topic.Topics;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

@Command(name = "status", mixinStandardHelpOptions = true,
        header = "Shows the progress of exports and the consumer lag.",
        description = "Reads the status topic and prints one line per export (or one export in detail), and "
                + "the consumer lag of the shard-worker and assembler groups. --watch redraws until the export "
                + "ends (exit 0 succeeded, 1 failed), with a progress bar of tasks done.")
class StatusCommand implements Callable<Integer> {
    static final String HEADER = String.format(Locale.ROOT, "%-20s  %-16s  %-17s  %-10s  %9s  %9s  %10s  %8s  %8s  %8s  %s",
            "EXPORT", "REALM", "TYPE", "STATE", "TASKS", "MESSAGES", "ROWS", "WRITTEN", "ELAPSED", "LEFT",
            "TARBALL / ERROR");

    @ParentCommand
    RealmExportCommand root;

    @Spec
    CommandSpec spec;

    @Mixin
    KafkaOptions kafka;

    @Mixin
    ConfigOptions config;

    @Parameters(index = "0", arity = "0..1", paramLabel = "EXPORT_ID", description = "Show this export in detail.")
    String exportId;

    @Option(names = "--watch", description = "Redraw until the export (or, without EXPORT_ID, every export) has ended.")
    boolean watch;

    @Option(names = "--interval", paramLabel = "SECONDS", defaultValue = "2",
            description = "Seconds between redraws with --watch (default ${DEFAULT-VALUE}).")
    int interval;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "0",
            description = "With --watch: give up (exit 1) after this many seconds; 0 waits forever (default).")
    long timeout;

    @Option(names = "--stalled-after", paramLabel = "SECONDS", defaultValue = "300",
            description = {"Show a running export STALLED when the shard workers or the assembler have a backlog",
                    "and none of its tasks finished for this long (default ${DEFAULT-VALUE})."})
    long stalledAfter;

    @Override
    public Integer call() throws Exception {
        if (stalledAfter < 0) {
            throw new UsageException("--stalled-after must not be negative");
        }
        if (interval < 1 || timeout < 0) {
            throw new UsageException("--interval must be at least 1 and --timeout not negative");
        }
        RealmExportConfig cfg = KafkaClients.config(Settings.resolve(root.environment(), config, kafka));
        Topics topics = cfg.topics();
        PrintWriter out = spec.commandLine().getOut();
        Admin admin = KafkaClients.admin(cfg);
        try {
            if (!KafkaClients.topicExists(admin, cfg, topics.status())) {
                out.println("no exports yet (topic " + topics.status() + " does not exist)");
                return RealmExportCommand.OK;
            }
        } catch (RuntimeException e) {
            admin.close(KafkaClients.CLOSE_TIMEOUT);
            throw e;
        }
        try (StatusBoard board = new StatusBoard(KafkaClients.readerProperties(cfg), topics.status())) {
            board.catchUp(Duration.ofSeconds(30));
            if (exportId != null && watch) {
                ExportStatus last = follow(board, exportId, spec.commandLine().getErr(), timeout);
                printDetail(out, board, stalledAfter, last, ConsumerLag.of(admin, KafkaClients.readerProperties(cfg), topics), topics);
                return last != null && last.state() == ExportState.SUCCEEDED ? RealmExportCommand.OK : RealmExportCommand.FAILED;
            }
            if (exportId != null) {
                ExportStatus status = board.get(exportId);
                if (status == null) {
                    throw new UsageException("no status for export " + exportId
                            + " (not planned yet, or not an export id; --watch waits for it)");
                }
                printDetail(out, board, stalledAfter, status, ConsumerLag.of(admin, KafkaClients.readerProperties(cfg), topics), topics);
                return status.state() == ExportState.FAILED ? RealmExportCommand.FAILED : RealmExportCommand.OK;
            }
            long deadline = timeout == 0 ? Long.MAX_VALUE : System.nanoTime() + Duration.ofSeconds(timeout).toNanos();
            while (true) {
                if (watch && System.console() != null) {
                    out.print("\033[H\033[2J"); // clear the terminal before each redraw
                }
                printTable(out, board, stalledAfter, ConsumerLag.of(admin, KafkaClients.readerProperties(cfg), topics), topics);
                out.flush();
                boolean running = board.exports().stream().anyMatch(s -> !s.state().terminal());
                if (!watch || !running) {
                    return RealmExportCommand.OK;
                }
                if (System.nanoTime() > deadline) {
                    spec.commandLine().getErr().println("status: timed out after " + timeout + " s");
                    return RealmExportCommand.FAILED;
                }
                board.poll(Duration.ofSeconds(interval));
            }
        } catch (KafkaException e) {
            throw KafkaClients.unreachable(cfg, e);
        } finally {
            admin.close(KafkaClients.CLOSE_TIMEOUT);
        }
    }

    /**
     * Follows one export until it ends, with a progress bar of tasks done on {@code err}. Returns
     * the last status seen (null if none arrived), whether terminal or not (timeout).
     */
    static ExportStatus follow(StatusBoard board, String exportId, PrintWriter err, long timeoutSeconds) {
        long deadline = timeoutSeconds == 0 ? Long.MAX_VALUE
                : System.nanoTime() + Duration.ofSeconds(timeoutSeconds).toNanos();
        ExportStatus status = board.get(exportId);
        if (status == null) {
            err.println("waiting for export " + exportId + " to be planned...");
            err.flush();
        }
        ProgressBar bar = null;
        try {
            while (true) {
                status = board.get(exportId);
                if (status != null) {
                    if (bar == null) {
                        bar = new ProgressBarBuilder().setTaskName("export " + exportId)
                                .setInitialMax(Math.max(1, status.tasksPlanned())).setUnit(" tasks", 1)
                                .setStyle(ProgressBarStyle.ASCII).hideEta().setUpdateIntervalMillis(250)
                                .setConsumer(new DelegatingProgressBarConsumer(line -> {
                                    err.print('\r' + line);
                                    err.flush();
                                }, 100))
                                .build();
                    }
                    bar.maxHint(Math.max(1, status.tasksPlanned()));
                    bar.stepTo(status.tasksDone());
                    bar.setExtraMessage(status.state().name());
                    if (status.state().terminal()) {
                        if (status.state() == ExportState.SUCCEEDED) {
                            bar.stepTo(Math.max(1, status.tasksPlanned()));
                        }
                        return status;
                    }
                }
                if (System.nanoTime() > deadline) {
                    err.println();
                    err.println("timed out after " + timeoutSeconds + " s waiting for export " + exportId);
                    return status;
                }
                board.poll(Duration.ofMillis(500));
            }
        } finally {
            if (bar != null) {
                bar.close();
                err.println();
                err.flush();
            }
        }
    }

    static void printTable(PrintWriter out, StatusBoard board, long stalledAfter, List<ConsumerLag> lags, Topics topics) {
        List<ExportStatus> exports = new ArrayList<>(board.exports());
        exports.sort(Comparator.comparingLong(ExportStatus::updatedAt));
        long now = System.currentTimeMillis();
        if (exports.isEmpty()) {
            out.println("no exports yet");
        } else {
            out.println(HEADER);
            for (ExportStatus s : exports) {
                Timing t = Timing.of(board, s, now);
                String state = stalled(board, s, lags, stalledAfter, now) ? "STALLED" : s.state().name();
                String result = s.state() == ExportState.FAILED ? "error: " + s.error()
                        : s.tarball() != null ? s.tarball() : "-";
                out.println(String.format(Locale.ROOT, "%-20s  %-16s  %-17s  %-10s  %9s  %9d  %10d  %8s  %8s  %8s  %s",
                        s.exportId(), realm(s), type(s), state, s.tasksDone() + "/" + s.tasksPlanned(),
                        messages(s), rows(s), bytes(s.bytesWritten()), duration(t.elapsedMs()),
                        t.leftMs() < 0 ? "-" : duration(t.leftMs()), result));
            }
        }
        printLag(out, lags, topics);
        if (board.unreadable() > 0) {
            out.println("(" + board.unreadable() + " unreadable status records skipped)");
        }
    }

    /** Each group's lag per topic and total, and its members (as kafka-consumer-groups --describe). */
    private static void printLag(PrintWriter out, List<ConsumerLag> lags, Topics topics) {
        out.println("consumer lag: " + lags.stream().map(l -> l.describe(topics)).collect(Collectors.joining(", ")));
        for (ConsumerLag lag : lags) {
            for (ConsumerLag.Member m : lag.members()) {
                out.println("  " + lag.group() + " member " + m);
            }
        }
    }

    /** Time since the export's first status and, from the pace so far, an estimate of the time left. */
    record Timing(long elapsedMs, long leftMs) {
        static Timing of(StatusBoard board, ExportStatus s, long now) {
            long end = s.state().terminal() ? s.updatedAt() : now;
            long elapsed = Math.max(0, end - (board == null ? s.updatedAt() : board.startedAt(s)));
            long left = -1;
            if (s.state().terminal()) {
                left = 0;
            } else if (s.tasksDone() > 0 && s.tasksPlanned() > 0) {
                left = elapsed * (s.tasksPlanned() - s.tasksDone()) / s.tasksDone();
            }
            return new Timing(elapsed, left);
        }
    }

    /**
     * Burrow's STALLED: the export is not done, some of its tasks or results wait for the shard
     * workers or the assembler, and none of its tasks finished for {@code stalledAfter} seconds.
     * Waiting records are told apart by export from their keys; a backlog too large to count one
     * by one ({@link ConsumerLag#waitingFor}) counts for every export.
     */
    static boolean stalled(StatusBoard board, ExportStatus s, List<ConsumerLag> lags, long stalledAfter, long now) {
        if (s.state().terminal() || s.state() == ExportState.ASSEMBLING) {
            return false;
        }
        return waiting(s, lags) > 0 && board != null && now - board.lastProgressAt(s) >= stalledAfter * 1000;
    }

    private static long waiting(ExportStatus s, List<ConsumerLag> lags) {
        return lags.stream().mapToLong(l -> l.waitingFor(s.exportId())).sum();
    }

    static String duration(long ms) {
        long s = ms / 1000;
        return s >= 3600 ? String.format(Locale.ROOT, "%dh%02dm", s / 3600, s / 60 % 60)
                : s >= 60 ? String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60) : s + "s";
    }

    /** Bytes in SI units, one decimal ("-" when unknown): 950 B, 12.3 kB, 1.2 GB. */
    static String bytes(Long n) {
        if (n == null) {
            return "-";
        }
        if (n < 1000) {
            return n + " B";
        }
        String[] units = {"kB", "MB", "GB", "TB", "PB"};
        double value = n;
        int unit = -1;
        while (value >= 999.95 && unit < units.length - 1) {
            value /= 1000;
            unit++;
        }
        return String.format(Locale.ROOT, "%.1f %s", value, units[unit]);
    }

    private static long messages(ExportStatus s) {
        return s.state() == ExportState.SUCCEEDED && s.messagesWritten() != null ? s.messagesWritten() : s.messages();
    }

    private static long rows(ExportStatus s) {
        return s.rows() == null ? 0 : s.rows().values().stream().mapToLong(Long::longValue).sum();
    }

    static String line(ExportStatus s) {
        String result = s.state() == ExportState.FAILED ? "error: " + s.error()
                : s.tarball() != null ? s.tarball() : "-";
        return String.format(Locale.ROOT, "%-20s  %-16s  %-17s  %-10s  %9s  %9d  %s", s.exportId(), realm(s),
                type(s), s.state(), s.tasksDone() + "/" + s.tasksPlanned(), messages(s), result);
    }

    /** The export type, and the user of a single-user export ({@code user 42}). */
    private static String type(ExportStatus s) {
        return s.type() + (s.userId() == null ? "" : " " + s.userId());
    }

    private static String realm(ExportStatus s) {
        String name = s.realm() == null || s.realm().isEmpty() ? "''" : s.realm();
        return s.realmId() != null && !name.equals(String.valueOf(s.realmId())) ? name + " (" + s.realmId() + ")" : name;
    }

    /** The detail of one export known only by its latest status (no timing history). */
    static void printDetail(PrintWriter out, ExportStatus s, List<ConsumerLag> lags, Topics topics) {
        printDetail(out, null, Long.MAX_VALUE / 1000, s, lags, topics);
    }

    static void printDetail(PrintWriter out, StatusBoard board, long stalledAfter, ExportStatus s, List<ConsumerLag> lags,
                            Topics topics) {
        if (s == null) {
            out.println("no status yet");
            return;
        }
        long now = System.currentTimeMillis();
        out.printf("export     %s%n", s.exportId());
        out.printf("request    %s%n", s.requestId());
        out.printf("realm      %s%n", realm(s));
        out.printf("type       %s%n", type(s));
        if (stalled(board, s, lags, stalledAfter, now)) {
            out.printf("state      %s, STALLED: no task finished for %s while %d of its records wait (start or check"
                    + " the shard workers and the assembler)%n", s.state(), duration(now - board.lastProgressAt(s)),
                    waiting(s, lags));
        } else {
            out.printf("state      %s%n", s.state());
        }
        out.printf("tasks      %d/%d done%n", s.tasksDone(), s.tasksPlanned());
        Timing t = Timing.of(board, s, now);
        out.printf("elapsed    %s%s%n", duration(t.elapsedMs()),
                t.leftMs() > 0 ? ", about " + duration(t.leftMs()) + " left" : "");
        Long written = s.messagesWritten();
        if (written == null) {
            out.printf("messages   %d planned (watermark: message id %d)%n", s.messages(), s.watermark());
        } else {
            // the database is live: messages deleted after planning are not written
            out.printf("messages   %d written of %d planned (watermark: message id %d)%n", written, s.messages(),
                    s.watermark());
        }
        if (s.bytesWritten() != null) {
            out.printf("files      %s (%d bytes) written by the tasks%n", bytes(s.bytesWritten()), s.bytesWritten());
        }
        if (s.output() != null) {
            out.printf("output     %s%n", ExportStores.display(s.output()));
        }
        if (s.tarball() != null) {
            out.printf("tarball    %s (%s bytes, sha256 %s)%n", s.tarball(), s.size(), s.sha256());
        }
        if (s.error() != null) {
            out.printf("error      %s%n", s.error());
        }
        if (s.rows() != null && !s.rows().isEmpty()) {
            out.printf("rows       %d: %s%n", rows(s), s.rows().entrySet().stream().map(e -> e.getKey() + " " + e.getValue())
                    .collect(Collectors.joining(", ")));
        }
        out.printf("updated    %s%n", Instant.ofEpochMilli(s.updatedAt()));
        printLag(out, lags, topics);
    }
}

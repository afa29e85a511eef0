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
    static final String HEADER = String.format(Locale.ROOT, "%-20s  %-16s  %-17s  %-10s  %9s  %9s  %s",
            "EXPORT", "REALM", "TYPE", "STATE", "TASKS", "MESSAGES", "TARBALL / ERROR");

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

    @Override
    public Integer call() throws Exception {
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
                printDetail(out, last, ConsumerLag.of(admin, KafkaClients.readerProperties(cfg), topics), topics);
                return last != null && last.state() == ExportState.SUCCEEDED ? RealmExportCommand.OK : RealmExportCommand.FAILED;
            }
            if (exportId != null) {
                ExportStatus status = board.get(exportId);
                if (status == null) {
                    throw new UsageException("no status for export " + exportId
                            + " (not planned yet, or not an export id; --watch waits for it)");
                }
                printDetail(out, status, ConsumerLag.of(admin, KafkaClients.readerProperties(cfg), topics), topics);
                return status.state() == ExportState.FAILED ? RealmExportCommand.FAILED : RealmExportCommand.OK;
            }
            long deadline = timeout == 0 ? Long.MAX_VALUE : System.nanoTime() + Duration.ofSeconds(timeout).toNanos();
            while (true) {
                if (watch && System.console() != null) {
                    out.print("\033[H\033[2J"); // clear the terminal before each redraw
                }
                printTable(out, board, ConsumerLag.of(admin, KafkaClients.readerProperties(cfg), topics), topics);
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

    static void printTable(PrintWriter out, StatusBoard board, List<ConsumerLag> lags, Topics topics) {
        List<ExportStatus> exports = new ArrayList<>(board.exports());
        exports.sort(Comparator.comparingLong(ExportStatus::updatedAt));
        if (exports.isEmpty()) {
            out.println("no exports yet");
        } else {
            out.println(HEADER);
            exports.forEach(s -> out.println(line(s)));
        }
        out.println("consumer lag: " + lags.stream().map(l -> l.describe(topics)).collect(Collectors.joining(", ")));
        if (board.unreadable() > 0) {
            out.println("(" + board.unreadable() + " unreadable status records skipped)");
        }
    }

    static String line(ExportStatus s) {
        String result = s.state() == ExportState.FAILED ? "error: " + s.error()
                : s.tarball() != null ? s.tarball() : "-";
        return String.format(Locale.ROOT, "%-20s  %-16s  %-17s  %-10s  %9s  %9d  %s", s.exportId(), realm(s),
                s.type(), s.state(), s.tasksDone() + "/" + s.tasksPlanned(),
                s.state() == ExportState.SUCCEEDED && s.messagesWritten() != null ? s.messagesWritten() : s.messages(),
                result);
    }

    private static String realm(ExportStatus s) {
        String name = s.realm() == null || s.realm().isEmpty() ? "''" : s.realm();
        return s.realmId() != null && !name.equals(String.valueOf(s.realmId())) ? name + " (" + s.realmId() + ")" : name;
    }

    static void printDetail(PrintWriter out, ExportStatus s, List<ConsumerLag> lags, Topics topics) {
        if (s == null) {
            out.println("no status yet");
            return;
        }
        out.printf("export     %s%n", s.exportId());
        out.printf("request    %s%n", s.requestId());
        out.printf("realm      %s%n", realm(s));
        out.printf("type       %s%n", s.type());
        out.printf("state      %s%n", s.state());
        out.printf("tasks      %d/%d done%n", s.tasksDone(), s.tasksPlanned());
        Long written = s.messagesWritten();
        if (written == null) {
            out.printf("messages   %d planned (watermark: message id %d)%n", s.messages(), s.watermark());
        } else {
            // the database is live: messages deleted after planning are not written
            out.printf("messages   %d written of %d planned (watermark: message id %d)%n", written, s.messages(),
                    s.watermark());
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
            out.printf("rows       %s%n", s.rows().entrySet().stream().map(e -> e.getKey() + " " + e.getValue())
                    .collect(Collectors.joining(", ")));
        }
        out.printf("updated    %s%n", Instant.ofEpochMilli(s.updatedAt()));
        out.println("consumer lag: " + lags.stream().map(l -> l.describe(topics)).collect(Collectors.joining(", ")));
    }
}

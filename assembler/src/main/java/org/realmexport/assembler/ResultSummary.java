package org.realmexport.assembler;

import org.realmexport.common.event.ExportTask;
import org.realmexport.common.event.FileCopyReport;
import org.realmexport.common.event.MessageIdSet;
import org.realmexport.common.db.UserScope;
import org.realmexport.common.event.TaskResult;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What the finalizer needs from the task results of one export, gathered in one pass over them
 * (one result in memory at a time): the files and their reported checksums, the message shards,
 * the referenced clients and the attachment links. The attachment maps are bounded by the realm's
 * attachments (one entry per attachment an exported message or scheduled message uses, holding
 * the ids of those messages), everything else by the number of tasks.
 */
final class ResultSummary {
    static final String REALM_TASK = "realm";
    static final String REALM_JSON = "realm.json";
    /** The task and file of a single-user export's user.json. */
    static final String USER_TASK = "user";
    static final String USER_JSON = UserScope.USER_JSON;

    /**
     * One MESSAGES task: its file, the range of message ids it holds, its rows per table and the
     * ids it exported ({@link MessageIdSet}, decoded when the shards are taken in order). A shard
     * whose messages were all deleted after planning holds none: its file is still written (the
     * importer stops at the first missing number), and its range is empty ({@code firstId > lastId}).
     */
    record Shard(int number, String taskId, String file, long firstId, long lastId, Long messages,
                 Map<String, Long> tables, String idSet) {
        boolean empty() {
            return firstId > lastId;
        }
    }

    /**
     * One file copy batch: the report it wrote ({@link FileCopyReport}, size and sha256), read back by
     * {@link CopiedFiles}. Its copied files are not in {@link #files}: they are listed from the report.
     */
    record CopyBatch(ExportTask.Kind kind, int number, String taskId, String report, TaskResult.FileInfo info) {
    }

    final SortedMap<String, TaskResult.FileInfo> files = new TreeMap<>();
    final List<Shard> shards = new ArrayList<>();
    final List<CopyBatch> copies = new ArrayList<>();
    final SortedSet<Long> clients = new TreeSet<>();
    /** attachment id to the exported message ids reported as using it (unsorted, may repeat until {@link #seal}). */
    final Map<Long, long[]> attachmentMessages = new HashMap<>();
    final Map<Long, long[]> attachmentScheduled = new HashMap<>();
    /** kind ({@link TaskResult#MESSAGE_SENDER} ...) to the user or recipient ids rows refer to (may repeat until {@link #seal}). */
    final Map<String, long[]> references = new HashMap<>();
    final SortedMap<String, Long> rows = new TreeMap<>();
    private final Map<String, String> fileOwner = new HashMap<>();
    private boolean realmTask;
    private boolean userTask;
    int tasks;

    void add(TaskResult r) throws ExportAnomaly {
        if (r.failed()) {
            throw new ExportAnomaly("task " + r.taskId() + " failed: " + r.error());
        }
        tasks++;
        ExportTask.Kind copyKind = fileCopyKind(r.taskId());
        if (copyKind != null) {
            addCopyBatch(copyKind, r);
            return;
        }
        if (r.files() != null) {
            for (Map.Entry<String, TaskResult.FileInfo> f : r.files().entrySet()) {
                String path = SafePaths.relative(f.getKey(), "file '" + f.getKey() + "' reported by task " + r.taskId());
                String other = fileOwner.putIfAbsent(path, r.taskId());
                if (other != null) {
                    throw new ExportAnomaly(path + " is reported by two tasks: " + other + " and " + r.taskId());
                }
                if (f.getValue() == null || f.getValue().sha256() == null) {
                    throw new ExportAnomaly("task " + r.taskId() + " reports " + path + " without its sha256");
                }
                files.put(path, f.getValue());
            }
        }
        if (REALM_TASK.equals(r.taskId())) {
            realmTask = true;
        } else if (USER_TASK.equals(r.taskId())) {
            userTask = true;
        } else if (r.taskId().startsWith("messages-")) {
            int number;
            try {
                number = Integer.parseInt(r.taskId().substring("messages-".length()));
            } catch (NumberFormatException e) {
                throw new ExportAnomaly("task id " + r.taskId() + " is not messages-NNNNNN");
            }
            String file = ExportTask.messagesFileStem(number) + ".json";
            if (!file.equals(r.taskId() + ".json") || r.files() == null || !r.files().containsKey(file)) {
                throw new ExportAnomaly("task " + r.taskId() + " does not report its file " + file);
            }
            Long messages = r.rows() == null ? null : r.rows().get("zerver_message");
            List<Long> range = r.messageIds();
            Map<String, Long> tables = r.rows() == null ? Map.of() : new TreeMap<>(r.rows());
            if (range != null && range.isEmpty() && messages != null && messages == 0) {
                shards.add(new Shard(number, r.taskId(), file, Long.MAX_VALUE, Long.MIN_VALUE, 0L, tables, null));
            } else if (range == null || range.size() != 2 || range.get(0) > range.get(1)) {
                throw new ExportAnomaly("task " + r.taskId() + " reports no valid [first, last] message ids: " + range);
            } else if (r.messageIdSet() == null) {
                throw new ExportAnomaly("task " + r.taskId() + " reports no message id set (a worker older than"
                        + " this assembler): request the export again");
            } else {
                shards.add(new Shard(number, r.taskId(), file, range.get(0), range.get(1), messages, tables,
                        r.messageIdSet()));
            }
        }
        if (r.clients() != null) {
            clients.addAll(r.clients());
        }
        merge(attachmentMessages, r.attachments());
        merge(attachmentScheduled, r.scheduledAttachments());
        mergeStrings(references, r.references());
        if (r.rows() != null) {
            r.rows().forEach((table, n) -> rows.merge(table, n == null ? 0 : n, Long::sum));
        }
    }

    /** The file copy kind of a task id ({@code uploads-000001}), or null. */
    private static ExportTask.Kind fileCopyKind(String taskId) {
        for (ExportTask.Kind kind : ExportTask.Kind.values()) {
            if (kind.isFileCopy() && taskId.startsWith(kind.category() + "-")) {
                return kind;
            }
        }
        return null;
    }

    private void addCopyBatch(ExportTask.Kind kind, TaskResult r) throws ExportAnomaly {
        int number;
        try {
            number = Integer.parseInt(r.taskId().substring(kind.category().length() + 1));
        } catch (NumberFormatException e) {
            throw new ExportAnomaly("task id " + r.taskId() + " is not " + kind.category() + "-NNNNNN");
        }
        String report = FileCopyReport.path(r.taskId());
        TaskResult.FileInfo info = r.files() == null ? null : r.files().get(report);
        if (info == null || info.sha256() == null || r.files().size() != 1) {
            throw new ExportAnomaly("task " + r.taskId() + " does not report its file copy report " + report
                    + " (and only it): " + (r.files() == null ? null : r.files().keySet()));
        }
        copies.add(new CopyBatch(kind, number, r.taskId(), report, info));
    }

    /** Checks that the export is whole: the realm task, and shards numbered 1..N in id order. */
    void seal(int tasksPlanned) throws ExportAnomaly {
        seal(tasksPlanned, false);
    }

    /** As {@link #seal(int)}; a single-user export has the user task (user.json) instead of the realm task. */
    void seal(int tasksPlanned, boolean userExport) throws ExportAnomaly {
        if (tasks != tasksPlanned) {
            throw new ExportAnomaly(tasks + " task results found for " + tasksPlanned + " planned tasks");
        }
        if (userExport ? !userTask || !files.containsKey(USER_JSON) : !realmTask || !files.containsKey(REALM_JSON)) {
            throw new ExportAnomaly("no result of the " + (userExport ? "user task reports user.json"
                    : "realm task reports realm.json"));
        }
        shards.sort((a, b) -> Integer.compare(a.number(), b.number()));
        copies.sort(java.util.Comparator.comparing(CopyBatch::kind).thenComparingInt(CopyBatch::number));
        Shard previous = null; // the last one holding messages
        for (int i = 0; i < shards.size(); i++) {
            Shard s = shards.get(i);
            if (s.number() != i + 1) {
                throw new ExportAnomaly("messages-" + String.format("%06d", i + 1)
                        + ".json is missing (the importer stops at the first missing number)");
            }
            if (s.empty()) {
                continue;
            }
            if (previous != null && s.firstId() <= previous.lastId()) {
                throw new ExportAnomaly(s.file() + " starts at message " + s.firstId() + ", not after "
                        + previous.file() + " (ends at " + previous.lastId() + ")");
            }
            previous = s;
        }
        sortUnique(attachmentMessages);
        sortUnique(attachmentScheduled);
        references.replaceAll((kind, ids) -> Arrays.stream(ids).sorted().distinct().toArray());
    }

    private static void merge(Map<Long, long[]> into, Map<Long, List<Long>> links) {
        if (links == null) {
            return;
        }
        links.forEach((attachment, messages) -> {
            long[] add = messages == null ? new long[0] : messages.stream().mapToLong(Long::longValue).toArray();
            into.merge(attachment, add, (a, b) -> {
                long[] all = Arrays.copyOf(a, a.length + b.length);
                System.arraycopy(b, 0, all, a.length, b.length);
                return all;
            });
        });
    }

    private static void mergeStrings(Map<String, long[]> into, Map<String, List<Long>> links) {
        if (links == null) {
            return;
        }
        links.forEach((kind, ids) -> {
            long[] add = ids == null ? new long[0] : ids.stream().mapToLong(Long::longValue).sorted().distinct().toArray();
            // kept sorted and distinct as they come: every shard names mostly the same users and
            // recipients, so appending them made the arrays (and their copies) grow with the shards
            into.merge(kind, add, ResultSummary::union);
        });
    }

    /** The sorted distinct union of two sorted distinct arrays. */
    private static long[] union(long[] a, long[] b) {
        long[] out = new long[a.length + b.length];
        int i = 0;
        int j = 0;
        int n = 0;
        while (i < a.length || j < b.length) {
            long next = j == b.length || (i < a.length && a[i] <= b[j]) ? a[i] : b[j];
            if (i < a.length && a[i] == next) {
                i++;
            }
            if (j < b.length && b[j] == next) {
                j++;
            }
            out[n++] = next;
        }
        return n == out.length ? out : Arrays.copyOf(out, n);
    }

    private static void sortUnique(Map<Long, long[]> links) {
        links.replaceAll((attachment, ids) -> Arrays.stream(ids).sorted().distinct().toArray());
    }
}

package org.realmexport.assembler;

import com.fasterxml.jackson.core.JsonGenerator;
import org.realmexport.common.config.RealmExportConfig;
import org.realmexport.common.event.FileCopyReport;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The files an export refers to (an attachment's upload, an uploaded avatar, a custom emoji's
 * image, an uploaded realm icon) that could not be found. An export without them would lose them
 * without a word, so by default they fail it, naming the first few; with
 * {@code uploads.allow.missing} the export goes on without them and stats.json lists them all.
 * The copy batches find them ({@link FileCopyReport#missing()}); this decides for the whole export.
 */
final class MissingFiles {
    /** The key of their list in stats.json. */
    static final String STATS_KEY = "missing_files";
    /** How many an error message names. */
    static final int NAMED = 5;

    private final List<FileCopyReport.Missing> missing = new ArrayList<>();
    /** Why they are missing, when that is known (a setting not given): part of the error. */
    private final Set<String> causes = new LinkedHashSet<>();

    void add(FileCopyReport.Missing file) {
        missing.add(file);
    }

    void cause(String cause) {
        causes.add(cause);
    }

    boolean isEmpty() {
        return missing.isEmpty();
    }

    List<FileCopyReport.Missing> list() {
        return List.copyOf(missing);
    }

    /** Fails the export naming the first few missing files, unless the operator allowed them. */
    void check(boolean allowed) throws ExportAnomaly {
        if (missing.isEmpty() || allowed) {
            return;
        }
        throw new ExportAnomaly(summary() + "; " + (causes.isEmpty() ? "restore them" : String.join("; ", causes))
                + ", or set " + RealmExportConfig.UPLOADS_ALLOW_MISSING + "=true to export without them"
                + " (they are then listed in stats.json)");
    }

    /** "3 files the export refers to are missing: a, b, c" (the first {@link #NAMED}). */
    String summary() {
        String named = missing.stream().limit(NAMED).map(FileCopyReport.Missing::describe).collect(Collectors.joining(", "));
        return missing.size() + (missing.size() == 1 ? " file the export refers to is" : " files the export refers to are")
                + " missing: " + named + (missing.size() > NAMED ? " and " + (missing.size() - NAMED) + " more" : "");
    }

    /** stats.json's list of them, when there are any: {category, path, owner key: id}. */
    void writeStats(JsonGenerator g) throws IOException {
        if (missing.isEmpty()) {
            return;
        }
        g.writeArrayFieldStart(STATS_KEY);
        for (FileCopyReport.Missing m : missing) {
            g.writeStartObject();
            g.writeStringField("category", m.category());
            g.writeStringField("path", m.path());
            g.writeNumberField(m.ownerKey(), m.ownerId());
            g.writeEndObject();
        }
        g.writeEndArray();
    }
}

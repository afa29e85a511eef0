package org.realmexport.assembler;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.realmexport.common.archive.TarGzPart;
import org.realmexport.common.event.FileCopyReport;
import org.realmexport.common.event.FileCopyReport.Copied;
import org.realmexport.common.event.FileCopyReport.Missing;
import org.realmexport.common.event.Versioned;
import org.realmexport.common.storage.local.LocalExportStore;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The merge of the copy batches' reports into the records.json files, the manifest's list and the missing files. */
class CopiedFilesTest {

    private static Copied upload(long attachment, String pathId) {
        return new Copied("uploads/" + pathId, 10 + attachment, "ab" + attachment, attachment,
                "{\"path\":\"" + pathId + "\",\"size\":" + (10 + attachment) + "}");
    }

    private static Copied avatar(String path) {
        return new Copied("avatars/" + path, 7, "cd", null, "{\"path\":\"" + path + "\",\"last_modified\":1.5E9}");
    }

    private static FileCopyReport report(List<Copied> copied, List<Missing> missing, List<String> causes) {
        return new FileCopyReport(Versioned.CURRENT, copied, missing, causes);
    }

    private static String records(Path dir, String category) throws Exception {
        return Files.readString(dir.resolve(category + "/records.json"));
    }

    @Test
    void recordsAreMergedSortedByPathVerbatimAndOnlyTheKeptAttachmentsUploads(@TempDir Path dir) throws Exception {
        CopiedFiles files = new CopiedFiles();
        // batches in order; each found its files in its own order
        files.add("uploads", "uploads-000001", report(List.of(upload(3, "2/zz/c.txt"), upload(1, "2/aa/a.txt")),
                List.of(new Missing("uploads", "files/2/bb/gone.txt", "attachment_id", 2, "attachment 2")), List.of()));
        files.add("uploads", "uploads-000002", report(List.of(upload(5, "2/mm/e.txt"), upload(4, "2/nn/dropped.txt")),
                List.of(new Missing("uploads", "files/2/cc/unused.txt", "attachment_id", 6, "attachment 6")), List.of()));
        files.add("avatars", "avatars-000001", report(List.of(avatar("2/b.png"), avatar("2/a.png")),
                List.of(new Missing("avatars", null, "user_profile_id", 9, "the avatar of user 9 (x@y)")),
                List.of("avatar.salt is not set")));

        ExportOutput out = new ExportOutput("e", new LocalExportStore(dir), TarGzPart.DEFAULT_LEVEL);
        MissingFiles missing = new MissingFiles();
        // attachment.json keeps 1, 2, 3, 5 and 7 (4 and 6 lost their exported messages; 7 was linked after its batch ran)
        List<AttachmentExporter.Exported> kept = List.of(new AttachmentExporter.Exported(1, "2/aa/a.txt", 11, 2),
                new AttachmentExporter.Exported(2, "2/bb/gone.txt", 11, 2),
                new AttachmentExporter.Exported(3, "2/zz/c.txt", 11, 2),
                new AttachmentExporter.Exported(5, "2/mm/e.txt", 11, 2),
                new AttachmentExporter.Exported(7, "2/late/f.txt", 11, 2));
        Map<String, Long> counts = files.write(out, kept, missing);

        assertThat(counts).containsExactly(Map.entry("avatars", 2L), Map.entry("uploads", 3L), Map.entry("emoji", 0L),
                Map.entry("realm_icons", 0L));
        // exactly the bytes of the old single-pass writer: compact, sorted by path, one final newline
        assertThat(records(dir, "uploads")).isEqualTo("[{\"path\":\"2/aa/a.txt\",\"size\":11},"
                + "{\"path\":\"2/mm/e.txt\",\"size\":15},{\"path\":\"2/zz/c.txt\",\"size\":13}]\n");
        assertThat(records(dir, "avatars")).isEqualTo("[{\"path\":\"2/a.png\",\"last_modified\":1.5E9},"
                + "{\"path\":\"2/b.png\",\"last_modified\":1.5E9}]\n");
        assertThat(records(dir, "emoji")).isEqualTo("[]\n");
        assertThat(records(dir, "realm_icons")).isEqualTo("[]\n");

        // the manifest lists the kept files as their batches reported them, and the four records.json
        assertThat(out.files().keySet()).containsExactly("avatars/2/a.png", "avatars/2/b.png", "avatars/records.json",
                "emoji/records.json", "realm_icons/records.json", "uploads/2/aa/a.txt", "uploads/2/mm/e.txt",
                "uploads/2/zz/c.txt", "uploads/records.json");
        assertThat(out.files().get("uploads/2/mm/e.txt").file().sha256()).isEqualTo("ab5");
        assertThat(out.files().get("uploads/2/mm/e.txt").file().size()).isEqualTo(15);

        // missing: by category (avatars first, as stats.json lists them), then in batch order; not those of
        // attachments left out; the attachment no batch saw counts, with why
        assertThat(missing.list()).extracting(Missing::path).containsExactly(null, "files/2/bb/gone.txt",
                "files/2/late/f.txt");
        assertThatThrownBy(() -> missing.check(false)).isInstanceOf(ExportAnomaly.class)
                .hasMessageContaining("3 files the export refers to are missing")
                .hasMessageContaining("avatar.salt is not set")
                .hasMessageContaining("attachments were added to exported messages while the export ran");
    }

    @Test
    void aFileCopiedByTwoBatchesFailsTheExport() throws Exception {
        CopiedFiles files = new CopiedFiles();
        files.add("uploads", "uploads-000001", report(List.of(upload(1, "2/aa/a.txt")), List.of(), List.of()));
        assertThatThrownBy(() -> files.add("uploads", "uploads-000002",
                report(List.of(upload(1, "2/aa/a.txt")), List.of(), List.of())))
                .isInstanceOf(ExportAnomaly.class).hasMessageContaining("uploads/2/aa/a.txt is copied by two batches");
        assertThatThrownBy(() -> files.add("emoji", "emoji-000001",
                report(List.of(upload(2, "2/aa/b.txt")), List.of(), List.of())))
                .isInstanceOf(ExportAnomaly.class).hasMessageContaining("outside emoji/");
    }
}

package org.realmexport.common.verify;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ExportVerifierTest {
    @TempDir
    Path tmp;

    private final ExportFixture fixture = new ExportFixture();

    private List<String> problemsOf(Path export) throws IOException {
        return new ExportVerifier(tmp.resolve("work")).verify(export).problems();
    }

    @Test
    void aSoundExportHasNoProblems() throws IOException {
        Path dir = fixture.write(tmp);
        ExportVerifier.Report report = new ExportVerifier().verify(dir);

        assertThat(report.problems()).isEmpty();
        assertThat(report.ok()).isTrue();
        assertThat(report.realmId()).isEqualTo(ExportFixture.REALM_ID);
        assertThat(report.users()).isEqualTo(4);
        assertThat(report.messages()).isEqualTo(1500);
        assertThat(report.messageFiles()).isEqualTo(2);
        assertThat(report.userMessages()).isEqualTo(4500);
        assertThat(report.attachments()).isEqualTo(1);
        assertThat(report.summary()).startsWith("OK " + ExportFixture.NAME);
    }

    @Test
    void aPublicExportWithDirectMessagesAGroupOrAPrivateStreamBreaksItsPrivacyRules() throws IOException {
        fixture.manifestExtras.put("export_type", "public");
        ((com.fasterxml.jackson.databind.node.ObjectNode) fixture.realm.get("zerver_stream").get(0)).put("invite_only", true);

        assertThat(problemsOf(fixture.write(tmp)))
                .anyMatch(p -> p.equals("realm.json: a public export holds direct-message group 30"))
                .anyMatch(p -> p.startsWith("messages-000001.json: a public export holds direct message 1001"))
                .anyMatch(p -> p.startsWith("messages-000001.json: a public export holds message 1002 of private stream 20"));
    }

    @Test
    void aConsentExportHoldsOnlyWhatConsentingUsersCouldSee() throws IOException {
        fixture.manifestExtras.put("export_type", "full-with-consent");
        fixture.manifestExtras.putArray("consenting_user_ids").add(10).add(11).add(12).add(13);
        assertThat(problemsOf(fixture.write(tmp.resolve("all")))).isEmpty();

        // user 12 withdraws: still active, still with usermessages
        fixture.manifestExtras.putArray("consenting_user_ids").add(10).add(11).add(13);
        assertThat(problemsOf(fixture.write(tmp.resolve("withdrawn"))))
                .anyMatch(p -> p.startsWith("realm.json: user 12 did not consent but is exported as an active user"))
                .anyMatch(p -> p.matches("messages-00000\\d\\.json: usermessage \\d+ belongs to user 12, who did not consent"));
    }

    @Test
    void aConsentExportWithoutItsConsentingUsersIsReported() throws IOException {
        fixture.manifestExtras.put("export_type", "full-with-consent");

        assertThat(problemsOf(fixture.write(tmp))).contains("manifest.json: a full export with consent lacks"
                + " 'consenting_user_ids'");
    }

    @Test
    void theWorkersPartsDirectoryIsNotPartOfTheExport() throws IOException {
        Path dir = fixture.write(tmp);
        Files.createDirectories(dir.resolve(".parts"));
        Files.writeString(dir.resolve(".parts/realm.json.tgz"), "not listed anywhere");

        assertThat(problemsOf(dir)).isEmpty();
    }

    @Test
    void aGapInTheMessageFilesIsReported() throws IOException {
        // 1000 + 1000 + 500 messages, the middle file written as number 3 instead of 2
        fixture.messageFileNames.set(1, "messages-000003.json");

        assertThat(problemsOf(fixture.write(tmp))).singleElement().asString()
                .startsWith("messages-000002.json: missing")
                .contains("messages-000003.json and later would be ignored");
    }

    @Test
    void aChangedByteBreaksTheManifest() throws IOException {
        Path dir = fixture.write(tmp);
        Path file = dir.resolve("messages-000002.json");
        String json = Files.readString(file);
        Files.writeString(file, json.replace("\"message 2500\"", "\"massage 2500\""));

        assertThat(problemsOf(dir)).containsExactly(
                "messages-000002.json: sha256 does not match manifest.json (the file changed after the manifest was written)");
    }

    @Test
    void aFileMissingFromTheManifestAndAManifestEntryWithoutFileAreReported() throws IOException {
        Path dir = fixture.write(tmp);
        Files.writeString(dir.resolve("notes.txt"), "left behind");
        Files.delete(dir.resolve("avatars/2/0f1e2d.png"));

        assertThat(problemsOf(dir)).containsExactlyInAnyOrder(
                "notes.txt: not listed in manifest.json",
                "manifest.json: lists avatars/2/0f1e2d.png, which is not in the export",
                "avatars/records.json: record points at avatars/2/0f1e2d.png, which is not in the export");
    }

    @Test
    void aUsermessageOfAMissingMessageIsReported() throws IOException {
        ArrayNode userMessages = (ArrayNode) fixture.messageFiles.get(0).get("zerver_usermessage");
        userMessages.add(ExportFixture.row(99_999).put("message", 777_777).put("user_profile", 10).put("flags_mask", 0));

        assertThat(problemsOf(fixture.write(tmp))).containsExactly(
                "messages-000001.json: usermessage 99999 points at message 777777, which is not in this file");
    }

    @Test
    void aMissingRequiredKeyIsReported() throws IOException {
        fixture.realm.remove("zerver_realmplayground");
        ((ObjectNode) fixture.messageFiles.get(1).get("zerver_usermessage").get(3)).remove("flags_mask");

        assertThat(problemsOf(fixture.write(tmp))).containsExactlyInAnyOrder(
                "realm.json: lacks the key 'zerver_realmplayground' (required by Zulip's importer)",
                "messages-000002.json: zerver_usermessage row 8003 lacks the key 'flags_mask'");
    }

    @Test
    void aKeyTheImporterReadsOfATableTheDatabaseHadIsReportedMissing() throws IOException {
        ObjectNode apps = (ObjectNode) fixture.migrationStatus.get("migrations_by_app");
        apps.set("zerver", ExportFixture.JSON.createArrayNode().add("[X] 0001_squashed_0569 (545 squashed migrations)")
                .add("[X] 0587_savedsnippet").add("[X] 0709_navigationview"));
        ExportCheck.REALM_KEYS_SINCE_MIGRATION.forEach((key, since) -> {
            if (since == 569) { // the tables older than zerver's squash
                fixture.realm.set(key, ExportFixture.list());
            }
        });
        fixture.realm.set("zerver_savedsnippet", ExportFixture.list());

        assertThat(problemsOf(fixture.write(tmp))).containsExactlyInAnyOrder(
                "realm.json: lacks the key 'zerver_channelfolder', which Zulip's importer reads: the database had the"
                        + " table (zerver migration 0706 or later is applied), so its rows are missing",
                "realm.json: lacks the key 'zerver_navigationview', which Zulip's importer reads: the database had the"
                        + " table (zerver migration 0709 or later is applied), so its rows are missing");
    }

    @Test
    void aRealmJsonKeyThatNoZulipVersionHasIsReported() throws IOException {
        fixture.realm.set("zerver_frobnicator", ExportFixture.list(ExportFixture.row(1)));
        fixture.realm.set("zerver_mutedtopic", ExportFixture.list()); // an older Zulip's name: fine

        assertThat(problemsOf(fixture.write(tmp))).containsExactly(
                "realm.json: has the key 'zerver_frobnicator', which no Zulip version writes or reads");
    }

    @Test
    void tablesTheExportWasMadeWithoutAreReported() throws IOException {
        fixture.statsExtras.put("skipped_tables", java.util.List.of("zerver_foo", "zerver_bar"));

        assertThat(problemsOf(fixture.write(tmp))).containsExactly(
                "stats.json: lists tables the export was made without (tables.skip): zerver_foo, zerver_bar;"
                        + " their rows are not in the export");
    }

    @Test
    void anUnsortedTableIsReported() throws IOException {
        ArrayNode users = (ArrayNode) fixture.realm.get("zerver_userprofile");
        ObjectNode first = (ObjectNode) users.remove(0);
        users.insert(1, first); // 11, 10, 12

        assertThat(problemsOf(fixture.write(tmp))).containsExactly(
                "realm.json: zerver_userprofile rows are not sorted by id (10 after 11)");
    }

    @Test
    void messageIdsMustAscendAcrossFiles() throws IOException {
        // swap message 2000 (last of file 1) and 2001 (first of file 2); their usermessages stay
        ArrayNode firstFile = (ArrayNode) fixture.messageFiles.get(0).get("zerver_message");
        ArrayNode secondFile = (ArrayNode) fixture.messageFiles.get(1).get("zerver_message");
        ObjectNode moved = (ObjectNode) firstFile.remove(firstFile.size() - 1);
        firstFile.add(secondFile.remove(0));
        secondFile.insert(0, moved);

        assertThat(problemsOf(fixture.write(tmp))).contains(
                "messages-000002.json: first message id 2000 is not above the last id 2001 of messages-000001.json"
                        + " (message ids must ascend across files)",
                "messages-000001.json: usermessage 7997 points at message 2000, which is not in this file");
    }

    @Test
    void aRecordPathEscapingTheExportIsReported() throws IOException {
        fixture.records.get("uploads").add(ExportFixture.JSON.createObjectNode().put("realm_id", 2)
                .put("user_profile_id", 10).put("s3_path", "2/cd/passwd").put("path", "2/../../../etc/passwd"));

        assertThat(problemsOf(fixture.write(tmp))).containsExactly(
                "uploads/records.json: record has the unsafe path '2/../../../etc/passwd' (absolute or with '..');"
                        + " the importer would read outside the export");
    }

    @Test
    void referencesOutsideTheExportAreReported() throws IOException {
        ExportFixture.rowById(fixture.realm, "zerver_subscription", 204).put("user_profile", 66);
        ExportFixture.rowById(fixture.realm, "zerver_recipient", 110).put("type_id", 21);
        ExportFixture.rowById(fixture.messageFiles.get(0), "zerver_message", 1002).put("sender", 67);
        ExportFixture.rowById(fixture.realm, "zerver_reaction", 301).put("message", 3000);
        ((ArrayNode) ExportFixture.rowById(fixture.attachment, "zerver_attachment", 50).get("messages")).add(4000);

        assertThat(problemsOf(fixture.write(tmp))).containsExactlyInAnyOrder(
                "realm.json: zerver_subscription row 204 belongs to user 66, who is neither exported nor cross-realm",
                "realm.json: zerver_recipient row 110 points at stream 21, which is not in the export",
                "messages-000001.json: message 1002 was sent by user 67, who is neither exported nor cross-realm",
                "realm.json: zerver_reaction row 301 is on message 3000, which is not in the export",
                "attachment.json: attachment 50 lists message 4000, which is not in the export");
    }

    @Test
    void secretsAndRowsOfAnotherRealmAreReported() throws IOException {
        ExportFixture.rowById(fixture.realm, "zerver_userprofile", 11).put("api_key", "s3cr3t");
        ExportFixture.rowById(fixture.messageFiles.get(1), "zerver_message", 2100).put("realm", 3);

        assertThat(problemsOf(fixture.write(tmp))).containsExactlyInAnyOrder(
                "realm.json: zerver_userprofile row 11 carries the secret field 'api_key'",
                "messages-000002.json: zerver_message row 2100 belongs to realm 3, not to the exported realm 2");
    }

    @Test
    void aShortMessageFileIsFineAsOneWhoseMessagesWereDeletedWhileExporting() throws IOException {
        ArrayNode firstFile = (ArrayNode) fixture.messageFiles.get(0).get("zerver_message");
        firstFile.remove(firstFile.size() - 1); // message 2000 disappears ...
        ArrayNode userMessages = (ArrayNode) fixture.messageFiles.get(0).get("zerver_usermessage");
        for (int i = 0; i < 3; i++) {
            userMessages.remove(userMessages.size() - 1); // ... with its usermessages
        }

        // the importer reads whatever each file holds
        assertThat(problemsOf(fixture.write(tmp))).isEmpty();
    }

    @Test
    void statsThatDisagreeWithTheRowsAreReported() throws IOException {
        Path dir = fixture.write(tmp);
        ObjectNode stats = (ObjectNode) ExportFixture.JSON.readTree(dir.resolve("stats.json").toFile());
        ((ObjectNode) stats.get("realm")).put("zerver_stream", 7);
        stats.put("uploads_records", 3);
        ExportFixture.JSON.writeValue(dir.resolve("stats.json").toFile(), stats);
        ExportFixture.writeManifest(dir);

        assertThat(problemsOf(dir)).containsExactlyInAnyOrder(
                "stats.json: says realm.json has 7 zerver_stream rows; it has 1",
                "stats.json: says uploads_records is 3; records.json has 1");
    }

    @Test
    void aConcatenatedGzipTarballIsVerified() throws IOException {
        Path dir = fixture.write(tmp.resolve("out"));
        Path tarball = ExportFixture.packConcatenated(dir, tmp.resolve(ExportFixture.NAME + ".tar.gz"));

        ExportVerifier.Report report = new ExportVerifier(tmp.resolve("work")).verify(tarball);

        assertThat(report.problems()).isEmpty();
        assertThat(report.messages()).isEqualTo(1500);
        assertThat(report.files()).isEqualTo(ExportFixture.relativeFiles(dir).size());
        assertThat(tmp.resolve("work")).isEmptyDirectory(); // the scratch copy is gone
    }

    @Test
    void aTarballWithABrokenExportReportsTheSameProblem() throws IOException {
        ArrayNode userMessages = (ArrayNode) fixture.messageFiles.get(1).get("zerver_usermessage");
        userMessages.add(ExportFixture.row(99_999).put("message", 12).put("user_profile", 11).put("flags_mask", 0));
        Path dir = fixture.write(tmp.resolve("out"));
        Path tarball = ExportFixture.packConcatenated(dir, tmp.resolve(ExportFixture.NAME + ".tar.gz"));

        assertThat(problemsOf(tarball)).containsExactly(
                "messages-000002.json: usermessage 99999 points at message 12, which is not in this file");
    }

    @Test
    void tarballEntriesOutsideTheExportAreRefused() throws IOException {
        Path dir = fixture.write(tmp.resolve("out"));
        Path tarball = ExportFixture.packConcatenated(dir, tmp.resolve("t.tar.gz"));
        byte[] sound = Files.readAllBytes(tarball);
        try (OutputStream out = Files.newOutputStream(tarball)) {
            // strip the end-of-archive member, append two hostile entries, end the archive again
            byte[] end = ExportFixture.gzip(new byte[1024]);
            out.write(sound, 0, sound.length - end.length);
            out.write(ExportFixture.gzip(ExportFixture.tarEntry("../evil.sh", "x".getBytes(StandardCharsets.UTF_8))));
            out.write(ExportFixture.gzip(ExportFixture.tarEntry("other/realm.json", "{}".getBytes(StandardCharsets.UTF_8))));
            out.write(ExportFixture.gzip(ExportFixture.tarEntry(ExportFixture.NAME + "/.parts/realm.json.tgz",
                    "x".getBytes(StandardCharsets.UTF_8))));
            out.write(end);
        }

        assertThat(problemsOf(tarball)).containsExactlyInAnyOrder(
                "t.tar.gz: entry '../evil.sh' is absolute or contains '..'",
                "t.tar.gz: entry 'other/realm.json' is outside the single top-level directory " + ExportFixture.NAME + "/",
                "t.tar.gz: entry '" + ExportFixture.NAME + "/.parts/realm.json.tgz': the workers' .parts/ never belong"
                        + " in the tarball");
        assertThat(tmp.resolve("evil.sh")).doesNotExist();
    }

    @Test
    void aTruncatedTarballIsAProblemNotACrash() throws IOException {
        Path dir = fixture.write(tmp.resolve("out"));
        Path tarball = ExportFixture.packConcatenated(dir, tmp.resolve(ExportFixture.NAME + ".tar.gz"));
        byte[] bytes = Files.readAllBytes(tarball);
        Files.write(tarball, java.util.Arrays.copyOf(bytes, bytes.length / 2));

        assertThat(problemsOf(tarball)).anySatisfy(line ->
                assertThat(line).startsWith(ExportFixture.NAME + ".tar.gz: is not a readable tar.gz"));
    }

    @Test
    void repeatedProblemsAreCountedNotListed() throws IOException {
        for (var row : fixture.messageFiles.get(0).get("zerver_message")) {
            ((ObjectNode) row).put("recipient", 555);
        }

        List<String> problems = problemsOf(fixture.write(tmp));
        assertThat(problems).hasSize(Problems.PER_RULE + 1);
        assertThat(problems.get(Problems.PER_RULE))
                .isEqualTo("messages-000001.json: " + (1000 - Problems.PER_RULE) + " more of the same kind (message.recipient)");
    }

    @Test
    void aPathThatDoesNotExistIsAnError() {
        assertThatThrownBy(() -> new ExportVerifier().verify(tmp.resolve("nowhere")))
                .isInstanceOf(NoSuchFileException.class);
    }

    @Test
    void anEmptyDirectoryLacksEveryRequiredFile() throws IOException {
        Path empty = Files.createDirectories(tmp.resolve("empty"));

        assertThat(problemsOf(empty)).contains(
                "realm.json: missing (required by Zulip's importer)",
                "attachment.json: missing (required by Zulip's importer)",
                "migration_status.json: missing (the importer compares it with the target server's migrations)",
                "uploads/records.json: missing (required by Zulip's importer; may be an empty list)",
                "avatars/records.json: missing (required by Zulip's importer; may be an empty list)",
                "manifest.json: missing (it lists every file of the export with its sha256 and size)");
    }
}

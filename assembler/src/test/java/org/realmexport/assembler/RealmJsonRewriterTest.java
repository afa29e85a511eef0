package org.realmexport.assembler;

import org.realmexport.common.storage.Sha256;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.realmexport.common.Json;
import org.realmexport.common.archive.PackedFile;
import org.realmexport.common.archive.TarGzPart;
import org.realmexport.common.event.TaskResult;
import org.realmexport.common.storage.StoredFile;
import org.realmexport.common.storage.local.LocalExportStore;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RealmJsonRewriterTest {
    private static final String WORKER_REALM_JSON = "{\"zerver_realm\":[{\"id\":2,\"date_created\":1700000000.123456,"
            + "\"name\":\"caf\\u00e9 \\\"q\\\"\",\"big\":12345678901234567890,\"exp\":1.5e3}],"
            + "\"zerver_scheduledmessage\":[{\"id\":7,\"x\":[1,2]},{\"id\":9,\"x\":{}}],"
            + "\"zerver_client\":[],\"import_source\":\"zulip\"}\n";

    private static RealmJsonRewriter.Tail tail(String reaction) {
        return g -> {
            g.writeArrayFieldStart("zerver_reaction");
            g.writeStartObject();
            g.writeNumberField("id", 1);
            g.writeStringField("emoji_name", reaction);
            g.writeEndObject();
            g.writeEndArray();
            g.writeArrayFieldStart("zerver_client");
            g.writeEndArray();
            return Map.of("zerver_reaction", 1L, "zerver_client", 0L);
        };
    }

    /** The worker's realm.json in an export directory, as the realm task leaves it. */
    private static TaskResult.FileInfo workerFile(LocalExportStore store) throws Exception {
        try (PackedFile file = PackedFile.create(store, "realm.json", TarGzPart.DEFAULT_LEVEL, true)) {
            file.stream().write(WORKER_REALM_JSON.getBytes(StandardCharsets.UTF_8));
            StoredFile.Written w = file.commit();
            return new TaskResult.FileInfo(w.size(), w.sha256());
        }
    }

    @Test
    void addsTheTablesKeepsNumbersExactAndWritesTheSameBytesAgain(@TempDir Path dir) throws Exception {
        LocalExportStore store = new LocalExportStore(dir);
        TaskResult.FileInfo reported = workerFile(store);
        Path realm = dir.resolve("realm.json");
        List<Long> scheduled = new ArrayList<>();

        ExportOutput out = new ExportOutput("e", store, TarGzPart.DEFAULT_LEVEL);
        RealmJsonRewriter.Result first = RealmJsonRewriter.rewrite(out, reported,
                t -> t.equals("zerver_scheduledmessage") ? JsonCounting.Fields.of("id", scheduled::add) : null,
                tail("smile"));
        byte[] once = Files.readAllBytes(realm);
        String text = new String(once, StandardCharsets.UTF_8);

        // the worker's part stays as it was: the input of any later finalizing
        try (var in = TarGzPart.readData(store.open(TarGzPart.partName("realm.json")), reported.size())) {
            assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo(WORKER_REALM_JSON);
        }
        assertThat(out.files().get("realm.json").part()).isEqualTo(RealmJsonRewriter.PART);
        assertThat(scheduled).containsExactly(7L, 9L);
        // numbers keep their text: no double round trip
        assertThat(text).contains("1700000000.123456").contains("12345678901234567890").contains("1.5e3");
        JsonNode tree = Json.MAPPER.readTree(once);
        assertThat(tree.get("zerver_realm").get(0).get("name").asText()).isEqualTo("café \"q\"");
        assertThat(tree.get("zerver_reaction").get(0).get("emoji_name").asText()).isEqualTo("smile");
        assertThat(tree.get("import_source").asText()).isEqualTo("zulip");
        // the worker's empty zerver_client is replaced, not duplicated
        assertThat(text.split("\"zerver_client\"", -1)).hasSize(2);
        assertThat(first.tables()).containsEntry("zerver_realm", 1L).containsEntry("zerver_scheduledmessage", 2L)
                .containsEntry("zerver_reaction", 1L).containsEntry("zerver_client", 0L);
        assertThat(first.file().size()).isEqualTo(once.length);
        assertThat(first.file().sha256()).isEqualTo(HexFormat.of().formatHex(Sha256.digest().digest(once)));

        // a second finalizing starts again from the worker's file and writes the same bytes
        RealmJsonRewriter.Result second = RealmJsonRewriter.rewrite(new ExportOutput("e", store, TarGzPart.DEFAULT_LEVEL),
                reported, null, tail("smile"));
        assertThat(Files.readAllBytes(realm)).isEqualTo(once);
        assertThat(second.file()).isEqualTo(first.file());
    }

    @Test
    void refusesAWorkerFileThatChangedAndLeavesItAlone(@TempDir Path dir) throws Exception {
        LocalExportStore store = new LocalExportStore(dir);
        TaskResult.FileInfo reported = workerFile(store);
        TaskResult.FileInfo wrong = new TaskResult.FileInfo(reported.size(), "00".repeat(32));
        assertThatThrownBy(() -> RealmJsonRewriter.rewrite(new ExportOutput("e", store, 1), wrong, null, tail("x")))
                .isInstanceOf(ExportAnomaly.class).hasMessageContaining("realm.json does not match");
        assertThat(Files.readString(dir.resolve("realm.json"))).isEqualTo(WORKER_REALM_JSON);
        assertThat(store.list("")).containsOnlyKeys("realm.json", TarGzPart.partName("realm.json")); // nothing half-written left
    }
}

package org.realmexport.worker;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.realmexport.common.config.RealmExportConfig;
import org.realmexport.common.storage.ExportStores;

import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class FileSyncerTest {
    @TempDir
    Path dir;

    @Test
    void syncsPublishedFilesAndFailsForAFileThatIsNotThere() throws Exception {
        Files.writeString(dir.resolve("messages-000001.json"), "{}\n");
        Files.createDirectories(dir.resolve("parts"));
        Files.writeString(dir.resolve("parts/messages-000001.json.gz"), "part");
        try (ExportStores stores = new ExportStores(new RealmExportConfig(RealmExportConfig.baseConfigDef(), Map.of()));
             FileSyncer syncer = new FileSyncer(stores, "test-sync")) {
            syncer.sync("e1", dir.toUri(), List.of("parts/messages-000001.json.gz", "messages-000001.json"))
                    .get(30, TimeUnit.SECONDS);

            // a file gone between publishing and syncing: the loop must not commit the result promising it
            assertThatThrownBy(() -> syncer.sync("e1", dir.toUri(), List.of("messages-000002.json"))
                    .get(30, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(NoSuchFileException.class);
            assertThat(dir.resolve("messages-000002.json")).doesNotExist();
        }
    }
}

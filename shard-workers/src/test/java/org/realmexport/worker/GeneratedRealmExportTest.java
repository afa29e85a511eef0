package org.realmexport.worker;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.realmexport.common.ExportType;
import org.realmexport.common.Json;
import org.realmexport.common.db.Database;
import org.realmexport.common.db.RealmScope;
import org.realmexport.common.event.ExportTask;
import org.realmexport.common.event.Versioned;
import org.realmexport.localstack.EmbeddedStack;
import org.realmexport.localstack.generator.GeneratedRealm;
import org.realmexport.localstack.generator.GeneratedRealms;
import org.realmexport.localstack.generator.GeneratorOptions;
import org.realmexport.localstack.generator.RealmGenerator;

import java.nio.file.Path;
import org.realmexport.common.storage.local.LocalExportStore;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The writers on the team's generated realm pair: a realistic config tree passes the picky
 * reference check, and the shards hold exactly the realm's messages, none of the other realm's.
 */
class GeneratedRealmExportTest {
    static EmbeddedStack stack;
    static GeneratedRealms realms;
    static Database db;

    @TempDir
    Path out;

    @BeforeAll
    static void start() {
        stack = EmbeddedStack.builder().kafka(false).s3(false).uploads(false).start();
        realms = new RealmGenerator(GeneratorOptions.defaults().withMessages(3000)).generate(stack.jdbcUrl());
        db = new Database(stack.jdbcUrl(), null, null, 2, "test");
    }

    @AfterAll
    static void stop() {
        db.close();
        stack.close();
    }

    @Test
    void bothGeneratedRealmsExportCleanlyAndApart() throws Exception {
        Set<Long> primaryIds = export(realms.primary(), out.resolve("p"));
        Set<Long> secondaryIds = export(realms.secondary(), out.resolve("s"));
        assertThat(primaryIds).doesNotContainAnyElementsOf(secondaryIds);
    }

    /** Plans (keyset pages of the scope), writes config + shards, checks counts; returns the message ids. */
    private Set<Long> export(GeneratedRealm realm, Path dir) throws Exception {
        Set<Long> ids = new HashSet<>();
        long usermessages = 0;
        try (Connection c = db.connection()) {
            RealmScope scope = RealmScope.resolve(c, db.catalog(), realm.realmId(), ExportType.FULL, "zulipinternal");
            ExportTask config = new ExportTask(Versioned.CURRENT, "g", ExportTask.Kind.REALM_CONFIG, realm.realmId(),
                    "full", dir.toUri(), Long.MAX_VALUE, 0, 0, 0, 0, 0);
            RealmConfigWriter.Outcome o = new RealmConfigWriter(db.catalog(), "11.0").write(c, scope, config, new LocalExportStore(dir), () -> false);
            assertThat(o.rows().get("zerver_userprofile") + o.rows().get("zerver_userprofile_mirrordummy"))
                    .isEqualTo(realm.users());
            assertThat(o.rows().get("zerver_huddle")).isLessThanOrEqualTo(realm.directMessageGroups());

            List<long[]> shards = new ArrayList<>();
            long last = 0;
            while (true) {
                List<Long> page = new ArrayList<>();
                try (PreparedStatement ps = c.prepareStatement(scope.messageIdPage(1000))) {
                    ps.setLong(1, last);
                    ps.setLong(2, Long.MAX_VALUE);
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            page.add(rs.getLong(1));
                        }
                    }
                }
                if (page.isEmpty()) {
                    break;
                }
                shards.add(new long[] {page.get(0), page.get(page.size() - 1), page.size()});
                last = page.get(page.size() - 1);
            }
            MessageShardWriter writer = new MessageShardWriter(db.catalog());
            for (int k = 0; k < shards.size(); k++) {
                long[] s = shards.get(k);
                ExportTask task = new ExportTask(Versioned.CURRENT, "g", ExportTask.Kind.MESSAGES, realm.realmId(), "full",
                        dir.toUri(), Long.MAX_VALUE, k + 1, s[0], s[1], (int) s[2], 0);
                MessageShardWriter.Outcome o2 = writer.write(c, scope, task, new LocalExportStore(dir), () -> false);
                usermessages += o2.rows().get("zerver_usermessage");
                JsonNode file = Json.MAPPER.readTree(dir.resolve(task.fileName()).toFile());
                file.get("zerver_message").forEach(m -> {
                    ids.add(m.get("id").asLong());
                    assertThat(m.get("realm").asLong()).isEqualTo(realm.realmId());
                });
            }
            c.rollback();
        }
        assertThat((long) ids.size()).isEqualTo(realm.messages());
        assertThat(usermessages).isPositive().isLessThanOrEqualTo(realm.userMessages());
        return ids;
    }
}

package org.realmexport.worker;

import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * migrations_by_app against what a real server prints: the expected lines are those of the
 * showmigrations output in Zulip's own test fixtures
 * (zerver/tests/fixtures/import_fixtures/get_migration_status_fixtures/with_complete_migrations.txt
 * and showmigrations_fixtures/with_stale_migrations.txt), for the rows of django_migrations such a
 * server has (the generator's list, taken from a Zulip server's database).
 */
class MigrationStatusTest {

    /** app.name of every row of the generator's django_migrations, in applied order. */
    static List<String> serverRows() throws Exception {
        List<String> rows = new ArrayList<>();
        try (InputStream in = MigrationStatusTest.class.getResourceAsStream(
                "/org/realmexport/localstack/generator/django-migrations.tsv")) {
            BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            for (String line; (line = reader.readLine()) != null; ) {
                if (!line.isBlank() && !line.startsWith("#")) {
                    rows.add(line.replace('\t', '.'));
                }
            }
        }
        return rows;
    }

    @Test
    void theAppsAndLinesAreThoseARealServerPrints() throws Exception {
        Map<String, List<String>> byApp = MigrationStatus.byApp(serverRows());

        // no "default" / "social_auth": social_django's first migrations replace them
        assertThat(byApp).containsOnlyKeys("analytics", "auth", "confirmation", "contenttypes", "otp_static", "otp_totp",
                "phonenumber", "sessions", "social_django", "two_factor", "zerver");
        assertThat(byApp.get("analytics")).containsExactly("[X] 0001_squashed_0021_alter_fillstate_id (21 squashed migrations)");
        assertThat(byApp.get("auth")).containsExactly("[X] 0001_initial", "[X] 0002_alter_permission_name_max_length",
                "[X] 0003_alter_user_email_max_length", "[X] 0004_alter_user_username_opts",
                "[X] 0005_alter_user_last_login_null", "[X] 0006_require_contenttypes_0002",
                "[X] 0007_alter_validators_add_error_messages", "[X] 0008_alter_user_username_max_length",
                "[X] 0009_alter_user_last_name_max_length", "[X] 0010_alter_group_name_max_length",
                "[X] 0011_update_proxy_permissions", "[X] 0012_alter_user_first_name_max_length");
        assertThat(byApp.get("confirmation")).startsWith(
                "[X] 0001_squashed_0014_confirmation_confirmatio_content_80155a_idx (14 squashed migrations)",
                "[X] 0015_alter_confirmation_object_id");
        assertThat(byApp.get("contenttypes")).containsExactly("[X] 0001_initial", "[X] 0002_remove_content_type_name");
        assertThat(byApp.get("otp_totp")).containsExactly("[X] 0001_initial", "[X] 0002_auto_20190420_0723",
                "[X] 0003_add_timestamps");
        assertThat(byApp.get("phonenumber")).containsExactly("[X] 0001_squashed_0001_initial (10 squashed migrations)");
        assertThat(byApp.get("sessions")).containsExactly("[X] 0001_initial");
        assertThat(byApp.get("social_django")).startsWith(
                "[X] 0001_initial (2 squashed migrations)", "[X] 0002_add_related_name (2 squashed migrations)",
                "[X] 0003_alter_email_max_length (2 squashed migrations)",
                "[X] 0004_auto_20160423_0400 (2 squashed migrations)",
                "[X] 0005_auto_20160727_2333 (1 squashed migrations)", "[X] 0006_partial", "[X] 0007_code_timestamp",
                "[X] 0008_partial_timestamp", "[X] 0009_auto_20191118_0520", "[X] 0010_uid_db_index",
                "[X] 0011_alter_id_fields", "[X] 0012_usersocialauth_extra_data_new", "[X] 0013_migrate_extra_data",
                "[X] 0014_remove_usersocialauth_extra_data", "[X] 0015_rename_extra_data_new_usersocialauth_extra_data",
                "[X] 0016_alter_usersocialauth_extra_data");
        // phonenumber's squash replaces every migration of two_factor
        assertThat(byApp.get("two_factor")).containsExactly("(no migrations)");
        List<String> zerver = byApp.get("zerver");
        assertThat(zerver.get(0)).isEqualTo("[X] 0001_squashed_0569 (545 squashed migrations)");
        assertThat(zerver).contains("[X] 0570_namedusergroup_can_manage_group", "[X] 0576_backfill_imageattachment",
                "[X] 0622_backfill_imageattachment_again", "[X] 0751_externalauthid_zerver_user_externalauth_uniq")
                .noneMatch(l -> l.matches("\\[X] 0([0-4]\\d\\d|5[0-5]\\d|56\\d)_(?!squashed).*"));
        assertThat(zerver).allMatch(l -> l.startsWith("[X] 0"));
    }

    @Test
    void staleMigrationsAreLeftOutAsZulipsListSays() throws Exception {
        List<String> rows = new ArrayList<>(serverRows());
        // rows an old server still has (showmigrations_fixtures/with_stale_migrations.txt)
        rows.addAll(List.of("guardian.0001_initial", "sites.0001_initial", "sites.0002_alter_domain_unique",
                "zerver.0002_django_1_8", "zerver.0028_userprofile_tos_version", "default.0005_auto_20160727_2333",
                "twofactor.0001_squashed_0008_delete_phonedevice"));

        assertThat(MigrationStatus.byApp(rows)).isEqualTo(MigrationStatus.byApp(serverRows()));
    }

    @Test
    void aSquashThisBuildDoesNotKnowCountsTheSpanOfItsNumbersAndHidesThem() {
        Map<String, List<String>> byApp = MigrationStatus.byApp(List.of("newapp.0001_initial", "newapp.0002_b",
                "newapp.0003_c", "newapp.0001_squashed_0003_c", "newapp.0004_d"));

        assertThat(byApp.get("newapp")).containsExactly("[X] 0001_squashed_0003_c (3 squashed migrations)", "[X] 0004_d");
    }
}

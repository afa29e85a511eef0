package org.realmexport.worker;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code migrations_by_app} of migration_status.json, from the rows of {@code django_migrations}:
 * what Zulip's writer (zerver/lib/migration_status.py, a copy of Django's {@code showmigrations
 * --list}) prints on the server, so that the importer's check, which compares each app's set of
 * lines with its own, passes.
 *
 * <p>showmigrations walks the code's migration graph, which the database does not hold; what it
 * shows follows from the recorded rows and a few facts of Zulip's apps, kept here as data:
 * <ul>
 *   <li>Zulip's STALE_MIGRATIONS (rows of long-gone migrations) are left out;</li>
 *   <li>the labels of apps Zulip no longer installs (their rows were replaced by another app's
 *       migrations, or are stale) are no apps at all;</li>
 *   <li>a squashed migration is shown once, {@code [X] 0001_squashed_0569 (545 squashed migrations)},
 *       instead of the migrations it replaces; the count is the length of its {@code replaces}
 *       ({@link #REPLACED_COUNTS}; for a squash this class does not know, the span of its numbers);</li>
 *   <li>an app whose every row is replaced by another app's migration shows {@code (no migrations)}.</li>
 * </ul>
 * Within an app the lines are in name order (Zulip's migrations are numbered); the graph's own
 * order differs where branches merge, and the importer compares sets.
 */
final class MigrationStatus {
    /** zerver/lib/migration_status.py STALE_MIGRATIONS: app, name. */
    static final List<String> STALE_MIGRATIONS = List.of(
            "guardian.0001_initial",
            "sites.0001_initial", "sites.0002_alter_domain_unique",
            "zerver.0002_django_1_8", "zerver.0003_custom_indexes", "zerver.0004_userprofile_left_side_userlist",
            "zerver.0005_auto_20150920_1340", "zerver.0006_zerver_userprofile_email_upper_idx",
            "zerver.0007_userprofile_is_bot_active_indexes", "zerver.0008_preregistrationuser_upper_email_idx",
            "zerver.0009_add_missing_migrations", "zerver.0010_delete_streamcolor", "zerver.0011_remove_guardian",
            "zerver.0012_remove_appledevicetoken", "zerver.0013_realmemoji", "zerver.0014_realm_emoji_url_length",
            "zerver.0015_attachment", "zerver.0016_realm_create_stream_by_admins_only",
            "zerver.0017_userprofile_bot_type", "zerver.0018_realm_emoji_message",
            "zerver.0019_preregistrationuser_realm_creation", "zerver.0020_add_tracking_attachment",
            "zerver.0021_migrate_attachment_data", "zerver.0022_subscription_pin_to_top",
            "zerver.0023_userprofile_default_language", "zerver.0024_realm_allow_message_editing",
            "zerver.0025_realm_message_content_edit_limit", "zerver.0026_delete_mituser",
            "zerver.0027_realm_default_language", "zerver.0028_userprofile_tos_version",
            "default.0005_auto_20160727_2333",
            "twofactor.0001_squashed_0008_delete_phonedevice");

    /**
     * Labels in django_migrations that are no installed app of Zulip: python-social-auth's old
     * labels (social_django's first migrations replace them), and those only stale rows have.
     */
    static final Set<String> FORMER_APPS = Set.of("default", "social_auth", "guardian", "sites", "twofactor");

    /** Migrations that replace others, to the length of their {@code replaces}. */
    static final Map<String, Integer> REPLACED_COUNTS = Map.ofEntries(
            Map.entry("zerver.0001_squashed_0569", 545),
            Map.entry("analytics.0001_squashed_0021_alter_fillstate_id", 21),
            Map.entry("confirmation.0001_squashed_0014_confirmation_confirmatio_content_80155a_idx", 14),
            Map.entry("corporate.0001_squashed_0044_convert_ids_to_bigints", 44),
            Map.entry("zilencer.0001_squashed_0064_remotezulipserver_last_merge_base", 64),
            // django-two-factor-auth's phone numbers, which replace every migration of two_factor
            Map.entry("phonenumber.0001_squashed_0001_initial", 10),
            // social_django's first five replace default.* and social_auth.* (default.0005 was dropped from them)
            Map.entry("social_django.0001_initial", 2),
            Map.entry("social_django.0002_add_related_name", 2),
            Map.entry("social_django.0003_alter_email_max_length", 2),
            Map.entry("social_django.0004_auto_20160423_0400", 2),
            Map.entry("social_django.0005_auto_20160727_2333", 1));

    /** A migration that replaces all of another app's: that app then shows (no migrations). */
    static final Map<String, String> REPLACES_APP = Map.of("phonenumber.0001_squashed_0001_initial", "two_factor");

    private static final Pattern SQUASHED = Pattern.compile("^(\\d{4})_squashed_(\\d{4})(_.*)?$");
    private static final Pattern NUMBERED = Pattern.compile("^(\\d{4})_.*");
    static final String NO_MIGRATIONS = "(no migrations)";

    private MigrationStatus() {
    }

    /**
     * {@code migrations_by_app}, apps sorted by name.
     *
     * @param applied the {@code app.name} of every row of django_migrations
     */
    static Map<String, List<String>> byApp(Collection<String> applied) {
        Map<String, TreeSet<String>> rows = new TreeMap<>();
        for (String migration : applied) {
            int dot = migration.indexOf('.');
            rows.computeIfAbsent(migration.substring(0, dot), k -> new TreeSet<>()).add(migration.substring(dot + 1));
        }
        Set<String> replacedApps = new TreeSet<>();
        REPLACES_APP.forEach((migration, app) -> {
            if (applied.contains(migration)) {
                replacedApps.add(app);
            }
        });
        Map<String, List<String>> out = new TreeMap<>();
        for (Map.Entry<String, TreeSet<String>> app : rows.entrySet()) {
            if (FORMER_APPS.contains(app.getKey())) {
                continue;
            }
            List<String> lines = replacedApps.contains(app.getKey()) ? new ArrayList<>() : lines(app.getKey(), app.getValue());
            out.put(app.getKey(), lines.isEmpty() ? List.of(NO_MIGRATIONS) : lines);
        }
        return out;
    }

    private static List<String> lines(String app, TreeSet<String> names) {
        List<int[]> squashedSpans = new ArrayList<>();
        for (String n : names) {
            Matcher m = SQUASHED.matcher(n);
            if (m.matches()) {
                squashedSpans.add(new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))});
            }
        }
        List<String> out = new ArrayList<>();
        for (String n : names) {
            if (STALE_MIGRATIONS.contains(app + "." + n)) {
                continue;
            }
            Matcher squashed = SQUASHED.matcher(n);
            Integer replaced = REPLACED_COUNTS.get(app + "." + n);
            if (squashed.matches()) {
                int count = replaced != null ? replaced
                        : Integer.parseInt(squashed.group(2)) - Integer.parseInt(squashed.group(1)) + 1;
                out.add("[X] " + n + " (" + count + " squashed migrations)");
                continue;
            }
            Matcher numbered = NUMBERED.matcher(n);
            if (numbered.matches()) {
                int k = Integer.parseInt(numbered.group(1));
                if (squashedSpans.stream().anyMatch(r -> k >= r[0] && k <= r[1])) {
                    continue; // replaced by a squashed migration
                }
            }
            out.add(replaced != null ? "[X] " + n + " (" + replaced + " squashed migrations)" : "[X] " + n);
        }
        return out;
    }
}

package org.realmexport.localstack.generator;

import java.nio.file.Path;
import java.util.Optional;
import java.util.SortedMap;

/**
 * The outcome of one {@link RealmGenerator#generate} run.
 *
 * @param primary         the realm demos and tests export (about N messages)
 * @param secondary       a second realm with about N/10 messages whose ids interleave with the
 *                        primary's, so that a leak between realms shows in an export
 * @param internalRealmId {@code zulipinternal}, home of the cross-realm system bots
 * @param avatarSalt      the {@code AVATAR_SALT} the avatar file names were derived with (Zulip:
 *                        {@code sha256(f"{user_id}:{avatar_version}:{salt}")[:40]}); an exporter
 *                        reading local avatars needs the same value as the server's setting
 * @param uploadsDir      where the upload files were written, if anywhere
 * @param tableRowCounts  rows written per table by this run (all realms and the installation-wide
 *                        tables), sorted by table name
 */
public record GeneratedRealms(
        GeneratedRealm primary,
        GeneratedRealm secondary,
        int internalRealmId,
        String avatarSalt,
        Optional<Path> uploadsDir,
        SortedMap<String, Long> tableRowCounts) {

    /** Total rows written by this run. */
    public long totalRows() {
        return tableRowCounts.values().stream().mapToLong(Long::longValue).sum();
    }
}

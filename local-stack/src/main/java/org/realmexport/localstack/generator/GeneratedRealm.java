package org.realmexport.localstack.generator;

import java.util.SortedMap;

/**
 * What the generator wrote for one realm: the facts tests and the demo check an export against.
 *
 * @param realmId           {@code zerver_realm.id}
 * @param stringId          {@code zerver_realm.string_id}
 * @param messages          rows of {@code zerver_message} with this {@code realm_id}, including
 *                          those sent by the cross-realm system bots
 * @param userMessages      {@code zerver_usermessage} rows of those messages (including the rows of
 *                          system bots for the direct messages they sent, as Zulip writes them)
 * @param users             {@code zerver_userprofile} rows of the realm: humans, bots, mirror dummies
 * @param humans            users that are neither bots nor mirror dummies
 * @param bots              bots owned by users of the realm
 * @param mirrorDummies     users with {@code is_mirror_dummy}
 * @param consentingUsers   humans with {@code allow_private_data_export}
 * @param streams           all streams, of which {@code privateStreams} are {@code invite_only}
 * @param privateStreams    streams with {@code invite_only}
 * @param directMessageGroups rows of {@code zerver_huddle} (type-3 recipients)
 * @param attachments       rows of {@code zerver_attachment}, each with a file of its recorded size
 *                          under the uploads directory when one was given
 * @param attachmentBytes   sum of the attachments' sizes
 * @param firstMessageId    smallest message id of the realm
 * @param lastMessageId     largest message id of the realm
 * @param rowCounts         rows written per table for this realm (tables keyed to the realm through
 *                          its users, streams, messages...), sorted by table name
 */
public record GeneratedRealm(
        int realmId,
        String stringId,
        long messages,
        long userMessages,
        int users,
        int humans,
        int bots,
        int mirrorDummies,
        int consentingUsers,
        int streams,
        int privateStreams,
        int directMessageGroups,
        int attachments,
        long attachmentBytes,
        long firstMessageId,
        long lastMessageId,
        SortedMap<String, Long> rowCounts) {

    /** Rows written to {@code table} for this realm (0 when none). */
    public long rows(String table) {
        return rowCounts.getOrDefault(table, 0L);
    }
}

package org.realmexport.assembler;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.LongConsumer;

/**
 * The users and recipients that exported rows refer to, checked against those realm.json holds.
 * The database is live and realm.json and the message files are written at different times, so a
 * row can refer to a user or a stream that appeared after realm.json was written (a user who
 * joined gets usermessages for recent messages; a message moved to a new stream). Zulip's importer
 * cannot import such a row, so it fails the export, naming the missing ids.
 *
 * <p>Memory: bit sets over the ids (a user or recipient id is a PostgreSQL integer), a few bytes
 * per user and recipient of the server.
 */
final class ReferenceCheck {
    /** What refers: its description for the error, and whether it refers to users or recipients. */
    enum Reference {
        MESSAGE_SENDER("messages sent by user", true),
        MESSAGE_RECIPIENT("messages to recipient", false),
        USERMESSAGE_USER("usermessages of user", true),
        REACTION_USER("reactions of user", true),
        ATTACHMENT_OWNER("attachments owned by user", true);

        private final String description;
        private final boolean toUser;

        Reference(String description, boolean toUser) {
            this.description = description;
            this.toUser = toUser;
        }
    }

    /** How many ids an error names per reference. */
    static final int NAMED = 5;

    private final Ids users = new Ids();
    private final Ids recipients = new Ids();
    private final Map<Reference, Ids> referenced = new LinkedHashMap<>();

    ReferenceCheck() {
        for (Reference r : Reference.values()) {
            referenced.put(r, new Ids());
        }
    }

    /** Takes an exported user (realm.json: zerver_userprofile, _mirrordummy, _crossrealm). */
    LongConsumer users() {
        return users::add;
    }

    /** Takes an exported recipient (realm.json: zerver_recipient). */
    LongConsumer recipients() {
        return recipients::add;
    }

    /** Takes a reference to a user or recipient. Not thread-safe. */
    void refer(Reference reference, long id) {
        referenced.get(reference).add(id);
    }

    /** Takes references of one kind, e.g. the usermessage users of one message file. */
    void refer(Reference reference, long[] ids) {
        Ids into = referenced.get(reference);
        for (long id : ids) {
            into.add(id);
        }
    }

    /** Fails when a reference points at a user or recipient that is not exported. */
    void check() throws ExportAnomaly {
        List<String> dangling = new ArrayList<>();
        for (Map.Entry<Reference, Ids> e : referenced.entrySet()) {
            Ids targets = e.getKey().toUser ? users : recipients;
            List<Long> missing = e.getValue().notIn(targets);
            if (!missing.isEmpty()) {
                dangling.add(e.getKey().description + (missing.size() == 1 ? " " : "s ")
                        + String.join(", ", missing.stream().limit(NAMED).map(String::valueOf).toList())
                        + (missing.size() > NAMED ? " and " + (missing.size() - NAMED) + " more" : ""));
            }
        }
        if (!dangling.isEmpty()) {
            throw new ExportAnomaly("exported rows refer to users or recipients that realm.json does not hold,"
                    + " which Zulip's importer cannot import: " + String.join("; ", dangling)
                    + ". The database changed while exporting (e.g. a user or stream created after realm.json"
                    + " was written): request the export again");
        }
    }

    /** A set of ids: a bit set over the integer range, anything larger on the side. */
    private static final class Ids {
        private final BitSet bits = new BitSet();
        private final TreeSet<Long> others = new TreeSet<>();

        void add(long id) {
            if (id >= 0 && id <= Integer.MAX_VALUE) {
                bits.set((int) id);
            } else {
                others.add(id);
            }
        }

        boolean contains(long id) {
            return id >= 0 && id <= Integer.MAX_VALUE ? bits.get((int) id) : others.contains(id);
        }

        /** The ids of this set that {@code other} lacks, ascending. */
        List<Long> notIn(Ids other) {
            BitSet missing = (BitSet) bits.clone();
            missing.andNot(other.bits);
            List<Long> ids = new ArrayList<>();
            for (int i = missing.nextSetBit(0); i >= 0; i = missing.nextSetBit(i + 1)) {
                ids.add((long) i);
            }
            for (long id : others) {
                if (!other.contains(id)) {
                    ids.add(id);
                }
            }
            return ids;
        }
    }
}

package org.realmexport.localstack.generator;

import org.realmexport.localstack.generator.MessagePlanner.Plan;
import org.realmexport.localstack.generator.Model.Emoji;
import org.realmexport.localstack.generator.Model.Realm;
import org.realmexport.localstack.generator.Model.User;

import java.sql.SQLException;
import java.util.List;

/**
 * The three streaming passes over all messages of both realms, in id order: zerver_message,
 * then zerver_usermessage (its recipients and their flags), then zerver_reaction. Each pass
 * re-plans every message from the seed, so nothing per message is kept in memory.
 */
final class MessageLoader {
    private static final int PROGRESS_EVERY = 4096;

    static final List<String> MESSAGE_COLUMNS = List.of("id", "type", "subject", "content", "rendered_content",
            "rendered_content_version", "date_sent", "last_edit_time", "edit_history", "has_attachment", "has_image",
            "has_link", "search_tsvector", "sender_id", "sending_client_id", "realm_id", "recipient_id",
            "is_channel_message");
    static final List<String> USER_MESSAGE_COLUMNS = List.of("id", "flags", "message_id", "user_profile_id");
    static final List<String> REACTION_COLUMNS = List.of("id", "emoji_name", "reaction_type", "emoji_code", "message_id",
            "user_profile_id");

    private final GeneratorRun run;
    private final MessagePlanner planner;
    private final long total;
    private final long seed;

    MessageLoader(GeneratorRun run) {
        this.run = run;
        this.planner = run.planner();
        this.total = planner.total();
        this.seed = run.seed();
    }

    void writeMessages() throws SQLException {
        Plan p = new Plan();
        Rng rng = new Rng(0);
        MessageContent text = new MessageContent();
        long[] perRealm = new long[2];
        try (CopyStream out = run.open("zerver_message", MESSAGE_COLUMNS)) {
            for (long g = 0; g < total; g++) {
                planner.plan(g, p);
                text.build(p, rng.reseed(seed, Streams.CONTENT, g));
                out.num(p.id).num(1).text(p.topic).text(text.content).text(text.rendered).num(1).ts(p.dateSent);
                if (text.lastEditTime != 0) {
                    out.ts(text.lastEditTime).text(text.editHistory);
                } else {
                    out.nul().nul();
                }
                out.bool(text.hasAttachment).bool(text.hasImage).bool(text.hasLink).text(text.searchVector)
                        .num(p.sender.id).num(p.clientId).num(p.realm.id).num(p.recipientId)
                        .bool(p.kind == ModelBuilder.KIND_STREAM);
                out.endRow();

                Realm r = p.realm;
                if (r.firstMessageId == 0) {
                    r.firstMessageId = p.id;
                }
                r.lastMessageId = p.id;
                perRealm[r.primary ? 0 : 1]++;
                if (p.stream != null && p.stream.firstMessageId == 0) {
                    p.stream.firstMessageId = p.id;
                }
                if ((g & (PROGRESS_EVERY - 1)) == PROGRESS_EVERY - 1) {
                    run.progress().rows(PROGRESS_EVERY);
                    run.progress().step(PROGRESS_EVERY);
                }
            }
            run.progress().rows(total & (PROGRESS_EVERY - 1));
            run.progress().step(total & (PROGRESS_EVERY - 1));
            run.tally("zerver_message", out.finish());
        }
        List<Realm> realms = run.userRealms();
        for (Realm r : realms) {
            long written = perRealm[r.primary ? 0 : 1];
            if (written != r.messages) {
                throw new IllegalStateException("realm " + r.stringId + ": planned " + r.messages + " messages, wrote " + written);
            }
            r.count("zerver_message", written);
        }
    }

    void writeUserMessages() throws SQLException {
        Plan p = new Plan();
        Rng flagRng = new Rng(0);
        User[] recipients = new User[run.maxRecipients()];
        long id = run.ids().last("zerver_usermessage");
        long reported = id;
        try (CopyStream out = run.open("zerver_usermessage", USER_MESSAGE_COLUMNS)) {
            for (long g = 0; g < total; g++) {
                planner.plan(g, p);
                int n = planner.recipients(p, recipients);
                flagRng.reseed(seed, Streams.FLAGS, g);
                for (int i = 0; i < n; i++) {
                    out.num(++id).num(MessagePlanner.flags(p, recipients[i], flagRng)).num(p.id).num(recipients[i].id);
                    out.endRow();
                }
                p.realm.userMessages += n;
                if ((g & (PROGRESS_EVERY - 1)) == PROGRESS_EVERY - 1) {
                    run.progress().rows(id - reported);
                    reported = id;
                    run.progress().step(PROGRESS_EVERY);
                }
            }
            run.progress().rows(id - reported);
            run.progress().step(total & (PROGRESS_EVERY - 1));
            run.tally("zerver_usermessage", out.finish());
        }
        run.ids().advanceTo("zerver_usermessage", id);
        for (Realm r : run.userRealms()) {
            r.count("zerver_usermessage", r.userMessages);
        }
    }

    /** About 4% of messages get one to three reactions from people who received them. */
    void writeReactions() throws SQLException {
        Plan p = new Plan();
        Rng rng = new Rng(0);
        User[] recipients = new User[run.maxRecipients()];
        int[] seenUser = new int[3];
        String[] seenCode = new String[3];
        long id = run.ids().last("zerver_reaction");
        long[] perRealm = new long[2];
        try (CopyStream out = run.open("zerver_reaction", REACTION_COLUMNS)) {
            for (long g = 0; g < total; g++) {
                if ((g & 0xFFFF) == 0xFFFF) {
                    run.progress().step(0x10000);
                }
                rng.reseed(seed, Streams.REACTIONS, g);
                if (!rng.chance(0.04)) {
                    continue;
                }
                planner.plan(g, p);
                int n = planner.recipients(p, recipients);
                int reactions = rng.between(1, 3);
                int written = 0;
                for (int k = 0; k < reactions && n > 0; k++) {
                    User user = recipients[rng.nextInt(n)];
                    if (user.systemBot) {
                        continue;
                    }
                    String name;
                    String type;
                    String code;
                    double x = rng.nextDouble();
                    List<Emoji> emoji = p.realm.emoji;
                    if (x < 0.15) {
                        Emoji e = emoji.get(rng.nextInt(emoji.size() - 1));   // the last one is deactivated
                        name = e.name;
                        type = "realm_emoji";
                        code = String.valueOf(e.id);
                    } else if (x < 0.20) {
                        name = "zulip";
                        type = "zulip_extra_emoji";
                        code = "zulip";
                    } else {
                        int e = rng.nextInt(Words.UNICODE_EMOJI_NAMES.length);
                        name = Words.UNICODE_EMOJI_NAMES[e];
                        type = "unicode_emoji";
                        code = Words.UNICODE_EMOJI_CODES[e];
                    }
                    boolean duplicate = false;
                    for (int i = 0; i < written; i++) {
                        duplicate |= seenUser[i] == user.id && seenCode[i].equals(code);
                    }
                    if (duplicate) {
                        continue;
                    }
                    seenUser[written] = user.id;
                    seenCode[written] = code;
                    written++;
                    out.num(++id).text(name).text(type).text(code).num(p.id).num(user.id).endRow();
                }
                perRealm[p.realm.primary ? 0 : 1] += written;
            }
            run.progress().step(total & 0xFFFF);
            run.counted("zerver_reaction", out.finish());
        }
        run.ids().advanceTo("zerver_reaction", id);
        for (Realm r : run.userRealms()) {
            r.count("zerver_reaction", perRealm[r.primary ? 0 : 1]);
        }
    }
}

package org.realmexport.localstack.generator;

import org.realmexport.localstack.generator.Model.Forced;
import org.realmexport.localstack.generator.Model.Group;
import org.realmexport.localstack.generator.Model.Huddle;
import org.realmexport.localstack.generator.Model.Realm;
import org.realmexport.localstack.generator.Model.Stream;
import org.realmexport.localstack.generator.Model.Subscription;
import org.realmexport.localstack.generator.Model.SystemBots;
import org.realmexport.localstack.generator.Model.User;

import java.util.Arrays;

import static org.realmexport.localstack.generator.ModelBuilder.KIND_DIRECT;
import static org.realmexport.localstack.generator.ModelBuilder.KIND_GROUP;
import static org.realmexport.localstack.generator.ModelBuilder.KIND_STREAM;

/**
 * Decides everything about message {@code g} (realm, sender, recipient, time, mentions, attachments)
 * from the model and the seed alone, so the message pass, the usermessage pass and the reaction pass
 * each re-plan a message instead of remembering it: memory stays flat however many messages.
 */
final class MessagePlanner {
    /** zerver/models/messages.py AbstractUserMessage.ALL_FLAGS, bit i = flag i. */
    static final long READ = 1;
    static final long STARRED = 2;
    static final long COLLAPSED = 4;
    static final long MENTIONED = 8;
    static final long STREAM_WILDCARD_MENTIONED = 16;
    static final long TOPIC_WILDCARD_MENTIONED = 32;
    static final long GROUP_MENTIONED = 64;
    static final long HAS_ALERT_WORD = 512;
    static final long IS_PRIVATE = 2048;
    static final long ACTIVE_MOBILE_PUSH_NOTIFICATION = 4096;

    static final int EDIT_NONE = 0;
    static final int EDIT_CONTENT = 1;
    static final int EDIT_TOPIC = 2;

    /** One message's plan; reused across calls. */
    static final class Plan {
        long g;
        Realm realm;
        int local;
        int id;
        int kind;
        boolean crossRealm;
        User sender;
        Stream stream;
        Huddle huddle;
        User receiver;
        int recipientId;
        long dateSent;
        String topic;
        int clientId;
        User mentioned;
        boolean wildcard;
        boolean topicWildcard;
        Group mentionedGroup;
        int[] attachments;
        int edit;

        boolean isPrivate() {
            return kind != KIND_STREAM;
        }
    }

    /** Client ids messages are sent with. */
    static final class Clients {
        int internal;
        int website;
        int mobile;
        int electron;
        int flutter;
        int terminal;
        int python;
        int githubWebhook;
    }

    private final long seed;
    private final Timeline timeline;
    private final Realm primary;
    private final Realm secondary;
    private final SystemBots systemBots;
    private final long messageBase;
    private final Clients clients;
    private final Rng rng = new Rng(0);

    MessagePlanner(long seed, Timeline timeline, Realm primary, Realm secondary, SystemBots systemBots,
                   long messageBase, Clients clients) {
        this.seed = seed;
        this.timeline = timeline;
        this.primary = primary;
        this.secondary = secondary;
        this.systemBots = systemBots;
        this.messageBase = messageBase;
        this.clients = clients;
    }

    long messageId(long g) {
        return messageBase + g + 1;
    }

    long total() {
        return timeline.total();
    }

    void plan(long g, Plan p) {
        Realm realm = timeline.secondary(g) ? secondary : primary;
        int local = timeline.local(g);
        rng.reseed(seed, Streams.PLAN, g);
        p.g = g;
        p.realm = realm;
        p.local = local;
        p.id = Math.toIntExact(messageId(g));
        p.dateSent = timeline.dateSent(g);
        p.crossRealm = false;
        p.stream = null;
        p.huddle = null;
        p.receiver = null;
        p.mentioned = null;
        p.wildcard = false;
        p.topicWildcard = false;
        p.mentionedGroup = null;
        p.topic = "";
        p.attachments = realm.attachmentsAt.get(local);

        Forced forced = realm.forced.get(local);
        double x = rng.nextDouble();
        if (forced != null) {
            p.kind = forced.kind;
            p.sender = forced.sender;
            p.stream = forced.stream;
            p.receiver = forced.receiver;
        } else if (x < 0.015) {
            // The system bots of zulipinternal write into the realm: a cross-realm sender.
            p.crossRealm = true;
            if (rng.chance(0.6)) {
                p.kind = KIND_STREAM;
                p.sender = systemBots.notificationBot;
                p.stream = pickStream(realm, local);
            } else {
                p.kind = KIND_DIRECT;
                p.sender = systemBots.welcomeBot;
                p.receiver = activeHuman(realm, local);
            }
        } else if (x < 0.165) {
            p.kind = KIND_DIRECT;
            double who = rng.nextDouble();
            p.sender = who < 0.01 ? realm.mirrorDummy : activeHuman(realm, local);
            double to = rng.nextDouble();
            if (to < 0.02) {
                p.receiver = realm.mirrorDummy;
            } else if (to < 0.03) {
                p.receiver = p.sender;                   // a note to self
            } else if (to < 0.05) {
                p.receiver = realm.realmBots.get(2);     // talking to the outgoing-webhook bot
            } else {
                p.receiver = activeHuman(realm, local);
                if (p.receiver == p.sender) {
                    p.receiver = realm.owner == p.sender ? realm.stableHumans.get(1) : realm.owner;
                }
            }
        } else if (x < 0.245) {
            p.kind = KIND_GROUP;
            p.huddle = realm.huddles.get(rng.nextInt(realm.huddles.size()));
            p.sender = p.huddle.members[rng.nextInt(p.huddle.members.length)];
        } else {
            p.kind = KIND_STREAM;
            Stream s = pickStream(realm, local);
            p.stream = s;
            p.sender = s.botPoster != null && rng.chance(0.25) ? s.botPoster : subscriberAt(s, local);
        }

        switch (p.kind) {
            case KIND_STREAM -> {
                p.recipientId = p.stream.recipientId;
                p.topic = p.stream.topics[rng.nextInt(p.stream.topics.length)];
                double m = rng.nextDouble();
                if (m < 0.04) {
                    p.mentioned = p.stream.subscriptions.get(rng.nextInt(p.stream.subscriptions.size())).user;
                } else if (m < 0.05) {
                    p.wildcard = true;
                } else if (m < 0.055) {
                    p.topicWildcard = true;
                } else if (m < 0.065) {
                    p.mentionedGroup = groupNamed(realm, rng.chance(0.5) ? "backend" : "frontend");
                }
            }
            case KIND_DIRECT -> {
                p.recipientId = p.receiver.recipientId;
                if (rng.chance(0.02) && p.receiver != p.sender) {
                    p.mentioned = p.receiver;
                }
            }
            default -> p.recipientId = p.huddle.recipientId;
        }
        p.clientId = clientFor(p.sender, rng);
        double e = rng.nextDouble();
        p.edit = e < 0.004 ? EDIT_CONTENT : e < 0.006 && p.kind == KIND_STREAM ? EDIT_TOPIC : EDIT_NONE;
    }

    /** A stream by traffic weight; an archived stream's share goes to the next stream after it is archived. */
    private Stream pickStream(Realm realm, int local) {
        int[] cumulative = realm.cumulativeStreamWeights;
        int i = Arrays.binarySearch(cumulative, rng.nextInt(cumulative[cumulative.length - 1]) + 1);
        if (i < 0) {
            i = -i - 1;
        }
        while (local >= realm.streams.get(i).deactivatedAt) {
            i = (i + 1) % realm.streams.size();
        }
        return realm.streams.get(i);
    }

    /** A subscriber who receives the stream's messages at that point (the creator if a few tries fail). */
    private User subscriberAt(Stream s, int local) {
        for (int attempt = 0; attempt < 6; attempt++) {
            Subscription sub = s.subscriptions.get(rng.nextInt(s.subscriptions.size()));
            if (receives(sub, local) && !sub.user.bot) {
                return sub.user;
            }
        }
        return s.creator;
    }

    private User activeHuman(Realm realm, int local) {
        for (int attempt = 0; attempt < 6; attempt++) {
            User u = realm.humans.get(rng.nextInt(realm.humans.size()));
            if (u.activeAt(local)) {
                return u;
            }
        }
        return realm.owner;
    }

    static boolean receives(Subscription sub, int local) {
        return sub.joinedAt <= local && local < sub.leftAt && sub.user.activeAt(local);
    }

    private static Group groupNamed(Realm realm, String name) {
        for (Group g : realm.groups) {
            if (name.equals(g.name)) {
                return g;
            }
        }
        throw new IllegalStateException("no group " + name);
    }

    private int clientFor(User sender, Rng rng) {
        if (sender.systemBot) {
            return clients.internal;
        }
        if (sender.bot) {
            return sender.botType == Model.INCOMING_WEBHOOK_BOT ? clients.githubWebhook : clients.python;
        }
        double x = rng.nextDouble();
        return x < 0.55 ? clients.website
                : x < 0.75 ? clients.mobile
                : x < 0.90 ? clients.electron
                : x < 0.96 ? clients.flutter
                : clients.terminal;
    }

    /**
     * The users who get a usermessage row for the planned message, in user-id order, into
     * {@code out}; returns how many. Stream messages go to the subscribers of that moment,
     * direct messages to sender and recipient (a system bot sender included, as Zulip does),
     * group messages to every member.
     */
    int recipients(Plan p, User[] out) {
        int n = 0;
        switch (p.kind) {
            case KIND_STREAM -> {
                for (Subscription sub : p.stream.subscriptions) {
                    if (receives(sub, p.local)) {
                        out[n++] = sub.user;
                    }
                }
            }
            case KIND_DIRECT -> {
                if (p.sender == p.receiver) {
                    out[n++] = p.sender;
                } else if (p.sender.id < p.receiver.id) {
                    out[n++] = p.sender;
                    out[n++] = p.receiver;
                } else {
                    out[n++] = p.receiver;
                    out[n++] = p.sender;
                }
            }
            default -> {
                for (User u : p.huddle.members) {
                    out[n++] = u;
                }
            }
        }
        return n;
    }

    /** The flags bitmask of {@code user}'s row for the planned message; {@code flagRng} is per message. */
    static long flags(Plan p, User user, Rng flagRng) {
        long flags = 0;
        boolean recent = p.local >= p.realm.messages - Math.max(1, p.realm.messages / 20);
        if (p.isPrivate()) {
            flags |= IS_PRIVATE;
        }
        if (user == p.sender) {
            flags |= READ;
        } else {
            double readChance = recent ? 0.5 : 0.97;
            boolean read = flagRng.chance(readChance);
            if (read) {
                flags |= READ;
            } else if (p.isPrivate() && flagRng.chance(0.5)) {
                flags |= ACTIVE_MOBILE_PUSH_NOTIFICATION;
            }
            if (p.mentioned == user) {
                flags |= MENTIONED;
            }
            if (p.wildcard) {
                flags |= STREAM_WILDCARD_MENTIONED;
            }
            if (p.topicWildcard) {
                flags |= TOPIC_WILDCARD_MENTIONED;
            }
            if (p.mentionedGroup != null && p.mentionedGroup.memberIds.contains(user.id)) {
                flags |= GROUP_MENTIONED;
            }
            if (flagRng.chance(0.007)) {
                flags |= HAS_ALERT_WORD;
            }
        }
        if (flagRng.chance(0.015)) {
            flags |= STARRED;
        }
        if (flagRng.chance(0.003)) {
            flags |= COLLAPSED;
        }
        return flags;
    }
}

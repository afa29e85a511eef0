package org.realmexport.localstack.generator;

import org.realmexport.localstack.generator.Model.Attachment;
import org.realmexport.localstack.generator.Model.Emoji;
import org.realmexport.localstack.generator.Model.Forced;
import org.realmexport.localstack.generator.Model.Group;
import org.realmexport.localstack.generator.Model.Huddle;
import org.realmexport.localstack.generator.Model.ProfileField;
import org.realmexport.localstack.generator.Model.Realm;
import org.realmexport.localstack.generator.Model.Scheduled;
import org.realmexport.localstack.generator.Model.Stream;
import org.realmexport.localstack.generator.Model.Subscription;
import org.realmexport.localstack.generator.Model.SystemBots;
import org.realmexport.localstack.generator.Model.User;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static org.realmexport.localstack.generator.Model.NEVER;
import static org.realmexport.localstack.generator.PgTime.MICROS_PER_DAY;
import static org.realmexport.localstack.generator.PgTime.MICROS_PER_HOUR;
import static org.realmexport.localstack.generator.PgTime.MICROS_PER_MINUTE;
import static org.realmexport.localstack.generator.PgTime.MICROS_PER_SECOND;

/**
 * Builds the in-memory {@link Model} of the realms: users, groups, streams, subscriptions, direct
 * message groups, attachments and where they are first used, scheduled messages, custom emoji.
 * Every choice comes from an {@link Rng} seeded by the options' seed, every id from {@link Ids}.
 */
final class ModelBuilder {
    static final long INTERNAL_REALM_CREATED = PgTime.micros(2023, 1, 2);
    static final long PRIMARY_REALM_CREATED = PgTime.micros(2023, 1, 9);
    static final long SECONDARY_REALM_CREATED = PgTime.micros(2023, 1, 16);

    /** Kinds of attachment, by how messages use them (index % 8; kind 7 alternates). */
    static final int ATTACHMENT_PUBLIC_STREAM = 0;
    static final int ATTACHMENT_PRIVATE_STREAM = 3;
    static final int ATTACHMENT_DIRECT_ONLY = 4;
    static final int ATTACHMENT_SEVERAL_MESSAGES = 5;
    static final int ATTACHMENT_UNUSED = 6;
    static final int ATTACHMENT_SCHEDULED = 7;

    /** Message kinds (also used by the planner). */
    static final int KIND_STREAM = 1;
    static final int KIND_DIRECT = 2;
    static final int KIND_GROUP = 3;

    private final long seed;
    private final Ids ids;
    private final Timeline timeline;

    ModelBuilder(long seed, Ids ids, Timeline timeline) {
        this.seed = seed;
        this.ids = ids;
        this.timeline = timeline;
    }

    // ---------------------------------------------------------------- zulipinternal

    private static final String[][] SYSTEM_BOTS = {
        {"emailgateway@zulip.com", "Email Gateway"},
        {"nagios-receive-bot@zulip.com", "Nagios Receive Bot"},
        {"nagios-send-bot@zulip.com", "Nagios Send Bot"},
        {"nagios-staging-receive-bot@zulip.com", "Nagios Staging Receive Bot"},
        {"nagios-staging-send-bot@zulip.com", "Nagios Staging Send Bot"},
        {"notification-bot@zulip.com", "Notification Bot"},
        {"welcome-bot@zulip.com", "Welcome Bot"}};
    static final String NOTIFICATION_BOT = "notification-bot@zulip.com";
    static final String WELCOME_BOT = "welcome-bot@zulip.com";

    /** The system bot realm, as a new Zulip server creates it. */
    Realm buildInternalRealm(SystemBots bots) {
        Rng rng = Rng.of(seed, Streams.INTERNAL, 0);
        Realm r = new Realm(true, false);
        r.id = ids.next("zerver_realm");
        r.stringId = "zulipinternal";
        r.name = "System bot realm";
        r.description = "";
        r.domain = "zulip.com";
        r.host = "zulip.com";
        r.dateCreated = INTERNAL_REALM_CREATED;
        createSystemGroups(r);
        for (String[] bot : SYSTEM_BOTS) {
            User u = newUser(r, bot[1], bot[0], rng, r.dateCreated + MICROS_PER_SECOND);
            u.bot = true;
            u.botType = Model.DEFAULT_BOT;
            u.systemBot = true;
            u.botOwnerId = u.id;
            u.canForgeSender = bot[0].startsWith("emailgateway");
            u.password = "!" + rng.alphanumeric(40);
            u.timezone = "";
            if (bot[0].equals(NOTIFICATION_BOT)) {
                bots.notificationBot = u;
            } else if (bot[0].equals(WELCOME_BOT)) {
                bots.welcomeBot = u;
            }
        }
        bots.realmId = r.id;
        addRoleMemberships(r);
        return r;
    }

    // ---------------------------------------------------------------- a generated realm

    Realm buildRealm(boolean primary, String stringId, int messages, int humans, int streams, int attachments,
                     SystemBots systemBots) {
        Rng rng = Rng.of(seed, Streams.REALM, primary ? 1 : 2);
        Realm r = new Realm(false, primary);
        r.id = ids.next("zerver_realm");
        r.stringId = stringId;
        r.name = primary ? "Zulip Community" : "Lear & Co.";
        r.description = primary
                ? "The **Zulip** community: a synthetic organization for export tests."
                : "A smaller synthetic organization; none of its data may appear in another realm's export.";
        r.domain = stringId + ".example.com";
        r.host = stringId + ".zulip.example.com";
        r.dateCreated = primary ? PRIMARY_REALM_CREATED : SECONDARY_REALM_CREATED;
        r.messages = messages;
        r.iconUploaded = primary;
        createSystemGroups(r);
        createHumans(r, humans, rng);
        createBotsAndDummy(r, rng);
        addRoleMemberships(r);
        createUserGroups(r, rng);
        createStreams(r, streams, rng);
        createHuddles(r, rng);
        createEmoji(r, rng);
        createProfileFields(r);
        createAttachments(r, attachments, rng);
        createScheduledMessages(r, rng);
        return r;
    }

    private void createSystemGroups(Realm r) {
        for (int i = 0; i < Model.SYSTEM_GROUP_NAMES.length; i++) {
            Group g = new Group();
            g.id = ids.next("zerver_usergroup");
            g.name = Model.SYSTEM_GROUP_NAMES[i];
            g.description = Model.SYSTEM_GROUP_DESCRIPTIONS[i];
            g.system = true;
            r.systemGroups[i] = g.id;
            r.groups.add(g);
        }
        // owners < administrators < moderators < full members < members < everyone < internet
        for (int i = Model.ADMINISTRATORS; i <= Model.INTERNET; i++) {
            r.groups.get(i).subgroupIds.add(r.systemGroups[i - 1]);
        }
    }

    private User newUser(Realm r, String fullName, String deliveryEmail, Rng rng, long joined) {
        User u = new User();
        u.id = ids.next("zerver_userprofile");
        u.realmId = r.id;
        u.index = r.users.size();
        u.fullName = fullName;
        u.deliveryEmail = deliveryEmail;
        u.email = deliveryEmail;
        u.recipientId = ids.next("zerver_recipient");
        u.apiKey = rng.alphanumeric(32);
        u.uuid = rng.uuid();
        u.dateJoined = joined;
        u.lastLogin = joined;
        r.users.add(u);
        Subscription personal = new Subscription();
        personal.id = ids.next("zerver_subscription");
        personal.user = u;
        personal.recipientId = u.recipientId;
        personal.color = "#c2c2c2";
        r.personalSubscriptions.add(personal);
        return u;
    }

    private void createHumans(Realm r, int humans, Rng rng) {
        int guests = Math.max(1, humans / 20);
        for (int i = 0; i < humans; i++) {
            String first = rng.pick(Words.FIRST_NAMES);
            String last = rng.pick(Words.LAST_NAMES);
            String delivery = (first + "." + last + "." + (i + 1)).toLowerCase(Locale.ROOT) + "@" + r.domain;
            User u = newUser(r, first + " " + last, delivery, rng, r.dateCreated + MICROS_PER_HOUR + i * 7 * MICROS_PER_MINUTE);
            u.role = i == 0 ? Model.ROLE_OWNER
                    : i <= 2 ? Model.ROLE_ADMINISTRATOR
                    : i == 3 ? Model.ROLE_MODERATOR
                    : i >= humans - guests ? Model.ROLE_GUEST
                    : Model.ROLE_MEMBER;
            // The owner consents and user 1 does not, so both cases always exist; others 60/40.
            u.consent = i == 0 || (i != 1 && rng.chance(0.6));
            u.emailVisibility = i == 1 || i == 4 ? Model.EMAIL_VISIBILITY_NOBODY
                    : i == 2 ? Model.EMAIL_VISIBILITY_ADMINS
                    : emailVisibility(rng);
            if (u.emailVisibility != Model.EMAIL_VISIBILITY_EVERYONE) {
                u.email = "user" + u.id + "@" + r.host;
            }
            u.password = "argon2$argon2id$v=19$m=102400,t=2,p=8$" + rng.alphanumeric(22) + "$" + rng.alphanumeric(43);
            u.timezone = rng.pick(Words.TIMEZONES);
            u.avatarUploaded = rng.chance(0.3);
            u.avatarVersion = u.avatarUploaded && rng.chance(0.3) ? 2 : 1;
            u.longTermIdle = rng.chance(0.05);
            u.defaultLanguage = rng.chance(0.85) ? "en" : rng.pick(new String[] {"de", "fr", "es", "ja", "pt"});
            // A few users leave part-way through; they keep their history (inactive, not deleted).
            if (i >= 6 && u.role != Model.ROLE_GUEST && rng.chance(0.03)) {
                u.activeUntil = r.messages / 4 + rng.nextInt(Math.max(1, r.messages - r.messages / 4));
                u.active = false;
            }
            u.lastLogin = u.active
                    ? Timeline.MESSAGES_END - rng.nextLong(30 * MICROS_PER_DAY)
                    : u.dateJoined + rng.nextLong(200 * MICROS_PER_DAY);
            r.humans.add(u);
            if (u.active && u.role != Model.ROLE_GUEST) {
                r.stableHumans.add(u);
            }
        }
        r.owner = r.humans.get(0);
    }

    private static int emailVisibility(Rng rng) {
        double x = rng.nextDouble();
        return x < 0.60 ? Model.EMAIL_VISIBILITY_EVERYONE
                : x < 0.70 ? Model.EMAIL_VISIBILITY_MEMBERS
                : x < 0.80 ? Model.EMAIL_VISIBILITY_ADMINS
                : x < 0.95 ? Model.EMAIL_VISIBILITY_NOBODY
                : Model.EMAIL_VISIBILITY_MODERATORS;
    }

    private void createBotsAndDummy(Realm r, Rng rng) {
        long joined = r.dateCreated + 2 * MICROS_PER_DAY;
        User nonConsenting = r.humans.get(1);
        // A generic bot and an incoming webhook owned by the (consenting) owner, an outgoing
        // webhook (with its zerver_service row) owned by a user who did not consent.
        Object[][] bots = {
            {"Helper Bot", "helper-bot", Model.DEFAULT_BOT, r.owner},
            {"GitHub Bot", "github-bot", Model.INCOMING_WEBHOOK_BOT, r.owner},
            {"Followup Bot", "followup-bot", Model.OUTGOING_WEBHOOK_BOT, nonConsenting}};
        for (Object[] b : bots) {
            User bot = newUser(r, (String) b[0], b[1] + "@" + r.domain, rng, joined);
            bot.bot = true;
            bot.botType = (Integer) b[2];
            bot.botOwnerId = ((User) b[3]).id;
            bot.password = "!" + rng.alphanumeric(40);
            bot.lastLogin = joined;
            r.realmBots.add(bot);
        }
        User dummy = newUser(r, "IRC Mirror User", "irc-mirror-user@irc." + r.domain, rng, joined);
        dummy.mirrorDummy = true;
        dummy.active = false;
        dummy.password = "!" + rng.alphanumeric(40);
        r.mirrorDummy = dummy;
    }

    /** Direct membership of each user in the system group of its role (as Zulip keeps them). */
    private void addRoleMemberships(Realm r) {
        for (User u : r.users) {
            switch (u.role) {
                case Model.ROLE_OWNER -> r.groups.get(Model.OWNERS).memberIds.add(u.id);
                case Model.ROLE_ADMINISTRATOR -> r.groups.get(Model.ADMINISTRATORS).memberIds.add(u.id);
                case Model.ROLE_MODERATOR -> r.groups.get(Model.MODERATORS).memberIds.add(u.id);
                case Model.ROLE_GUEST -> r.groups.get(Model.EVERYONE).memberIds.add(u.id);
                default -> {
                    r.groups.get(Model.MEMBERS).memberIds.add(u.id);
                    r.groups.get(Model.FULL_MEMBERS).memberIds.add(u.id);
                }
            }
        }
    }

    private void createUserGroups(Realm r, Rng rng) {
        long created = r.dateCreated + 3 * MICROS_PER_DAY;
        Group backend = namedGroup(r, "backend", "Server and database people", created, rng, 3, 8);
        Group frontend = namedGroup(r, "frontend", "Web and mobile app people", created, rng, 3, 8);
        Group engineering = namedGroup(r, "engineering", "Everyone who builds the product", created, rng, 1, 2);
        engineering.subgroupIds.add(backend.id);
        engineering.subgroupIds.add(frontend.id);
        // An anonymous group: the value of a group-based setting (who may post in #announce).
        Group anonymous = new Group();
        anonymous.id = ids.next("zerver_usergroup");
        anonymous.memberIds.add(r.humans.get(3).id);
        anonymous.subgroupIds.add(r.group(Model.ADMINISTRATORS));
        r.groups.add(anonymous);
    }

    private Group namedGroup(Realm r, String name, String description, long created, Rng rng, int min, int max) {
        Group g = new Group();
        g.id = ids.next("zerver_usergroup");
        g.name = name;
        g.description = description;
        g.creatorId = r.owner.id;
        g.dateCreated = created;
        for (User u : sample(r.stableHumans, rng.between(min, Math.min(max, r.stableHumans.size())), rng)) {
            g.memberIds.add(u.id);
        }
        g.memberIds.sort(null);
        r.groups.add(g);
        return g;
    }

    Group anonymousGroup(Realm r) {
        return r.groups.stream().filter(g -> g.name == null).findFirst().orElseThrow();
    }

    private void createStreams(Realm r, int count, Rng rng) {
        int m = r.messages;
        List<User> everyone = new ArrayList<>(r.humans);
        User helper = r.realmBots.get(0);
        User github = r.realmBots.get(1);
        User followup = r.realmBots.get(2);

        Stream general = newStream(r, "general", "Everyone is added to this stream.", false, r.owner, rng);
        general.isDefault = true;
        for (User u : everyone) {
            subscribe(general, u, 0, rng);
        }
        subscribe(general, helper, 0, rng);
        subscribe(general, followup, 0, rng);

        Stream announce = newStream(r, "announce", "Announcements. Readable by anyone on the web.", false, r.owner, rng);
        announce.webPublic = true;
        announce.isDefault = true;
        announce.canSendMessageGroupId = anonymousGroup(r).id;
        subscribeSample(announce, r, Math.max(3, r.humans.size() / 2), 0.1, rng);

        Stream privateStream = newStream(r, "design-private", "A private stream whose history is visible to its subscribers.",
                true, r.stableHumans.get(1), rng);
        subscribeSample(privateStream, r, sizeOf(r, rng), 0.2, rng);

        Stream protectedStream = newStream(r, "leadership", "A private stream with protected history: new subscribers do not see older messages.",
                true, r.stableHumans.get(2), rng);
        protectedStream.historyPublic = false;
        subscribeSample(protectedStream, r, sizeOf(r, rng), 0.4, rng);

        Stream archived = newStream(r, "archive-2023", "Archived when the 2023 project ended.", false, r.owner, rng);
        archived.deactivated = true;
        archived.deactivatedAt = m / 2;
        subscribeSample(archived, r, sizeOf(r, rng), 0.1, rng);

        Stream commits = newStream(r, "commits", "Pushes to our repositories, posted by the GitHub integration.", false, r.owner, rng);
        subscribeSample(commits, r, sizeOf(r, rng), 0.2, rng);
        subscribe(commits, github, 0, rng);
        commits.botPoster = github;

        TreeSet<String> names = new TreeSet<>(List.of("general", "announce", "design-private", "leadership", "archive-2023", "commits"));
        for (int i = r.streams.size(); i < count; i++) {
            String name = rng.pick(Words.STREAM_WORDS);
            for (int n = 2; names.contains(name); n++) {
                name = rng.pick(Words.STREAM_WORDS) + "-" + n;
            }
            names.add(name);
            boolean invite = rng.chance(0.2);
            Stream s = newStream(r, name, "Conversations about " + name.replace('-', ' ') + ".", invite,
                    r.stableHumans.get(rng.nextInt(r.stableHumans.size())), rng);
            subscribeSample(s, r, sizeOf(r, rng), 0.2, rng);
            if (rng.chance(0.15)) {
                subscribe(s, helper, 0, rng);
                s.botPoster = helper;
            }
        }
        for (Stream s : r.streams) {
            s.subscriptions.sort((a, b) -> Integer.compare(a.user.id, b.user.id));
        }
        helper.defaultSendingStreamId = general.id;
        github.defaultSendingStreamId = commits.id;

        // Stream weights: the realm-wide streams are busy in absolute terms but each of their
        // messages fans out to everyone, so they get small shares (about one and a half
        // usermessage rows per stream message between them); the rest share the traffic.
        long others = 0;
        for (Stream s : r.streams) {
            if (s != general && s != announce) {
                s.weight = rng.between(100, 400);
                others += s.weight;
            }
        }
        general.weight = (int) Math.max(1, others / Math.max(1, general.subscriptions.size() - 1));
        announce.weight = (int) Math.max(1, others / 2 / Math.max(1, announce.subscriptions.size() - 1));
        r.cumulativeStreamWeights = new int[r.streams.size()];
        int sum = 0;
        for (int i = 0; i < r.streams.size(); i++) {
            sum += r.streams.get(i).weight;
            r.cumulativeStreamWeights[i] = sum;
        }
    }

    private static int sizeOf(Realm r, Rng rng) {
        return rng.between(3, Math.max(3, Math.min(20, r.humans.size())));
    }

    private Stream newStream(Realm r, String name, String description, boolean inviteOnly, User creator, Rng rng) {
        Stream s = new Stream();
        s.id = ids.next("zerver_stream");
        s.index = r.streams.size();
        s.name = name;
        s.description = description;
        s.inviteOnly = inviteOnly;
        s.recipientId = ids.next("zerver_recipient");
        s.dateCreated = r.dateCreated + MICROS_PER_DAY + s.index * MICROS_PER_HOUR;
        s.creator = creator;
        s.canSendMessageGroupId = r.group(Model.EVERYONE);
        int topicCount = rng.between(3, 12);
        s.topics = new String[topicCount];
        TreeSet<String> seen = new TreeSet<>();
        for (int i = 0; i < topicCount; i++) {
            String topic = rng.pick(Words.TOPIC_STEMS);
            if (!seen.add(topic)) {
                topic = topic + " " + (i + 1);
                seen.add(topic);
            }
            s.topics[i] = topic;
        }
        r.streams.add(s);
        // The creator is always the first subscriber, there from the start and never leaving.
        subscribe(s, creator, 0, rng);
        return s;
    }

    private void subscribeSample(Stream s, Realm r, int size, double lateShare, Rng rng) {
        for (User u : sample(r.humans, size, rng)) {
            if (u == s.creator) {
                continue;
            }
            int joinedAt = rng.chance(lateShare) ? rng.nextInt(Math.max(1, r.messages)) : 0;
            Subscription sub = subscribe(s, u, joinedAt, rng);
            if (rng.chance(0.05) && joinedAt < r.messages - 1) {
                sub.leftAt = joinedAt + 1 + rng.nextInt(r.messages - joinedAt - 1);
                sub.active = false;
            }
        }
    }

    private Subscription subscribe(Stream s, User u, int joinedAt, Rng rng) {
        for (Subscription existing : s.subscriptions) {
            if (existing.user == u) {
                return existing;
            }
        }
        Subscription sub = new Subscription();
        sub.id = ids.next("zerver_subscription");
        sub.user = u;
        sub.recipientId = s.recipientId;
        sub.joinedAt = joinedAt;
        sub.color = rng.pick(Words.STREAM_COLORS);
        sub.muted = rng.chance(0.05);
        sub.pinned = rng.chance(0.05);
        s.subscriptions.add(sub);
        return sub;
    }

    private void createHuddles(Realm r, Rng rng) {
        int count = Math.max(3, Math.min(200, r.humans.size() / 5));
        TreeSet<String> hashes = new TreeSet<>();
        int maxSize = Math.min(6, r.stableHumans.size());
        for (int attempt = 0; r.huddles.size() < count && attempt < count * 20; attempt++) {
            List<User> members = sample(r.stableHumans, rng.between(3, maxSize), rng);
            members.sort((a, b) -> Integer.compare(a.id, b.id));
            String hash = directMessageGroupHash(members);
            if (!hashes.add(hash)) {
                continue;
            }
            Huddle h = new Huddle();
            h.id = ids.next("zerver_huddle");
            h.recipientId = ids.next("zerver_recipient");
            h.hash = hash;
            h.members = members.toArray(new User[0]);
            for (User u : h.members) {
                Subscription sub = new Subscription();
                sub.id = ids.next("zerver_subscription");
                sub.user = u;
                sub.recipientId = h.recipientId;
                sub.color = "#c2c2c2";
                h.subscriptions.add(sub);
            }
            r.huddles.add(h);
        }
    }

    /** Zulip's get_direct_message_group_hash: sha1 of the sorted, comma-joined user ids. */
    static String directMessageGroupHash(List<User> members) {
        String key = members.stream().map(u -> u.id).sorted().distinct().map(String::valueOf)
                .collect(Collectors.joining(","));
        return HexFormat.of().formatHex(digest("SHA-1", key));
    }

    static byte[] digest(String algorithm, String text) {
        try {
            return MessageDigest.getInstance(algorithm).digest(text.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private void createEmoji(Realm r, Rng rng) {
        String[] names = {"realm-export", "party-parrot", "ship-it", "old-logo"};
        for (int i = 0; i < names.length; i++) {
            Emoji e = new Emoji();
            e.id = ids.next("zerver_realmemoji");
            e.name = names[i];
            e.fileName = e.id + ".png";
            e.deactivated = i == names.length - 1;
            e.author = r.stableHumans.get(rng.nextInt(r.stableHumans.size()));
            r.emoji.add(e);
        }
    }

    private void createProfileFields(Realm r) {
        Object[][] fields = {
            {"Phone number", "", 1, ""},
            {"Biography", "What are you known for?", 2, ""},
            {"Favorite food", "Or drink, if you'd prefer", 3,
                "{\"0\": {\"text\": \"Pizza\", \"order\": \"1\"}, \"1\": {\"text\": \"Dumplings\", \"order\": \"2\"}, \"2\": {\"text\": \"Tacos\", \"order\": \"3\"}}"},
            {"Mentor", "", 6, ""},
            {"GitHub username", "", 7, "{\"subtype\": \"github\"}"}};
        for (int i = 0; i < fields.length; i++) {
            ProfileField f = new ProfileField();
            f.id = ids.next("zerver_customprofilefield");
            f.name = (String) fields[i][0];
            f.hint = (String) fields[i][1];
            f.type = (Integer) fields[i][2];
            f.fieldData = (String) fields[i][3];
            f.order = i + 1;
            r.profileFields.add(f);
        }
    }

    // ---------------------------------------------------------------- attachments

    private void createAttachments(Realm r, int count, Rng rng) {
        int m = r.messages;
        Map<Integer, List<Integer>> at = new TreeMap<>();
        Stream privateStream = r.streams.get(2);
        int maxForced = m / 2;
        for (int j = 0; j < count; j++) {
            Attachment a = new Attachment();
            a.id = ids.next("zerver_attachment");
            a.index = j;
            a.kind = j % 8;
            String[] type = Words.FILE_TYPES[rng.nextInt(Words.FILE_TYPES.length)];
            a.fileName = rng.pick(Words.WORDS) + "-" + (j + 1) + "." + type[0];
            a.contentType = type[1];
            // zerver/lib/upload/local.py: <realm_id>/<random byte in hex>/<token_urlsafe(18)>/<name>
            a.pathId = r.id + "/" + Integer.toHexString(rng.nextInt(256)) + "/" + rng.urlSafe(24) + "/" + a.fileName;
            double x = rng.nextDouble();
            a.size = x < 0.80 ? rng.between(100, 6_000) : x < 0.98 ? rng.between(6_000, 40_000) : rng.between(40_000, 200_000);
            a.owner = r.stableHumans.get(rng.nextInt(r.stableHumans.size()));
            boolean scheduledOnly = a.kind == ATTACHMENT_SCHEDULED && (j / 8) % 2 == 0;
            boolean linked = a.kind != ATTACHMENT_UNUSED && !scheduledOnly && r.forced.size() < maxForced;
            if (linked) {
                int local = freePosition(r, rng.nextInt(m));
                Forced forced;
                if (a.kind == ATTACHMENT_PRIVATE_STREAM) {
                    a.owner = privateStream.creator;   // there from the start, never leaves
                    forced = new Forced(KIND_STREAM, a.owner, privateStream, null);
                } else if (a.kind == ATTACHMENT_DIRECT_ONLY || a.kind == ATTACHMENT_SCHEDULED) {
                    forced = new Forced(KIND_DIRECT, a.owner, null, otherStableHuman(r, a.owner, rng));
                } else {
                    forced = new Forced(KIND_STREAM, a.owner, publicStreamOf(r, a.owner, local, rng), null);
                }
                r.forced.put(local, forced);
                a.messageLocals.add(local);
                if (a.kind == ATTACHMENT_SEVERAL_MESSAGES) {
                    int extra = rng.between(1, 2);
                    for (int k = 0; k < extra; k++) {
                        int other = rng.nextInt(m);
                        if (!a.messageLocals.contains(other)) {
                            a.messageLocals.add(other);
                        }
                    }
                    a.messageLocals.sort(null);
                }
                for (int local2 : a.messageLocals) {
                    at.computeIfAbsent(local2, k -> new ArrayList<>()).add(j);
                }
                long firstSent = timeline.dateSent(timeline.global(!r.primary, a.messageLocals.get(0)));
                a.createTime = firstSent - rng.between(1, 600) * MICROS_PER_SECOND;
            } else if (a.kind == ATTACHMENT_SCHEDULED) {
                a.createTime = Timeline.MESSAGES_END - rng.nextLong(5 * MICROS_PER_DAY);
            } else {
                a.createTime = Timeline.MESSAGES_START + rng.nextLong(Timeline.MESSAGES_END - Timeline.MESSAGES_START);
            }
            r.attachments.add(a);
        }
        for (Map.Entry<Integer, List<Integer>> e : at.entrySet()) {
            r.attachmentsAt.put(e.getKey(), e.getValue().stream().mapToInt(Integer::intValue).toArray());
        }
    }

    private static int freePosition(Realm r, int start) {
        int local = start;
        while (r.forced.containsKey(local)) {
            local = (local + 1) % r.messages;
        }
        return local;
    }

    private static User otherStableHuman(Realm r, User not, Rng rng) {
        User u;
        do {
            u = r.stableHumans.get(rng.nextInt(r.stableHumans.size()));
        } while (u == not);
        return u;
    }

    /** A public stream the user is in at that point (general, where everyone is, as a fallback). */
    private static Stream publicStreamOf(Realm r, User user, int local, Rng rng) {
        List<Stream> candidates = new ArrayList<>();
        for (Stream s : r.streams) {
            if (s.inviteOnly || local >= s.deactivatedAt) {
                continue;
            }
            for (Subscription sub : s.subscriptions) {
                if (sub.user == user && sub.joinedAt <= local && local < sub.leftAt) {
                    candidates.add(s);
                    break;
                }
            }
        }
        // The realm-wide streams reach everyone: keep them for when the user is in no other.
        List<Stream> narrow = candidates.stream().filter(s -> s.index > 1).toList();
        if (!narrow.isEmpty()) {
            return narrow.get(rng.nextInt(narrow.size()));
        }
        return candidates.isEmpty() ? r.streams.get(0) : candidates.get(rng.nextInt(candidates.size()));
    }

    // ---------------------------------------------------------------- scheduled messages

    private void createScheduledMessages(Realm r, Rng rng) {
        Stream general = r.streams.get(0);
        for (Attachment a : r.attachments) {
            if (a.kind != ATTACHMENT_SCHEDULED) {
                continue;
            }
            Scheduled s = newScheduled(r, a.owner, rng);
            s.stream = general;
            s.topic = rng.pick(general.topics);
            s.attachment = a;
            a.scheduledMessageIds.add(s.id);
            s.content = "Sharing [" + a.fileName + "](/user_uploads/" + a.pathId + ") tomorrow morning.";
            s.renderedContent = "<p>Sharing <a href=\"/user_uploads/" + a.pathId + "\">" + a.fileName + "</a> tomorrow morning.</p>";
        }
        int extra = Math.max(4, Math.min(60, r.humans.size() / 8));
        for (int i = 0; i < extra; i++) {
            User sender = r.stableHumans.get(rng.nextInt(r.stableHumans.size()));
            Scheduled s = newScheduled(r, sender, rng);
            String words = sentence(rng, 4, 14);
            s.content = words;
            s.renderedContent = "<p>" + words + "</p>";
            if (i == 0) {
                // A reminder: sent to oneself about an earlier message.
                s.deliveryType = 2;
                s.receiver = sender;
                s.reminderTargetLocal = rng.nextInt(r.messages);
                s.topic = "";
            } else if (rng.chance(0.5)) {
                Stream stream = publicStreamOf(r, sender, r.messages - 1, rng);
                s.stream = stream;
                s.topic = rng.pick(stream.topics);
            } else {
                s.receiver = otherStableHuman(r, sender, rng);
                s.topic = "";
            }
        }
    }

    private Scheduled newScheduled(Realm r, User sender, Rng rng) {
        Scheduled s = new Scheduled();
        s.id = ids.next("zerver_scheduledmessage");
        s.sender = sender;
        s.requestedAt = Timeline.MESSAGES_END - rng.nextLong(3 * MICROS_PER_DAY);
        s.scheduledAt = Timeline.MESSAGES_END + MICROS_PER_DAY + rng.nextLong(30 * MICROS_PER_DAY);
        r.scheduled.add(s);
        return s;
    }

    static String sentence(Rng rng, int minWords, int maxWords) {
        int n = rng.between(minWords, maxWords);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            if (i > 0) {
                sb.append(' ');
            }
            sb.append(rng.pick(Words.WORDS));
        }
        return sb.toString();
    }

    /** {@code count} distinct items of {@code from} (partial Fisher-Yates on a copy). */
    static <T> List<T> sample(List<T> from, int count, Rng rng) {
        List<T> copy = new ArrayList<>(from);
        int n = Math.min(count, copy.size());
        for (int i = 0; i < n; i++) {
            int j = i + rng.nextInt(copy.size() - i);
            T t = copy.get(i);
            copy.set(i, copy.get(j));
            copy.set(j, t);
        }
        return new ArrayList<>(copy.subList(0, n));
    }
}

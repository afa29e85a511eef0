package org.realmexport.localstack.generator;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The in-memory plan of everything small (realms, users, groups, streams, subscriptions, direct
 * message groups, attachments...). Messages and usermessages are never held: they are planned one
 * at a time from this model by {@link MessagePlanner}. Maps here are only ever looked up, never
 * iterated, so hash order cannot leak into the output.
 */
final class Model {
    private Model() {
    }

    /** Roles (zerver/models/users.py). */
    static final int ROLE_OWNER = 100;
    static final int ROLE_ADMINISTRATOR = 200;
    static final int ROLE_MODERATOR = 300;
    static final int ROLE_MEMBER = 400;
    static final int ROLE_GUEST = 600;

    /** UserProfile.email_address_visibility. */
    static final int EMAIL_VISIBILITY_EVERYONE = 1;
    static final int EMAIL_VISIBILITY_MEMBERS = 2;
    static final int EMAIL_VISIBILITY_ADMINS = 3;
    static final int EMAIL_VISIBILITY_NOBODY = 4;
    static final int EMAIL_VISIBILITY_MODERATORS = 5;

    /** Bot types. */
    static final int DEFAULT_BOT = 1;
    static final int INCOMING_WEBHOOK_BOT = 2;
    static final int OUTGOING_WEBHOOK_BOT = 3;

    /** Recipient types. */
    static final int RECIPIENT_PERSONAL = 1;
    static final int RECIPIENT_STREAM = 2;
    static final int RECIPIENT_DIRECT_MESSAGE_GROUP = 3;

    /** System groups, in the order Zulip creates them; index into {@link Realm#systemGroups}. */
    static final String[] SYSTEM_GROUP_NAMES = {
        "role:nobody", "role:owners", "role:administrators", "role:moderators",
        "role:fullmembers", "role:members", "role:everyone", "role:internet"};
    static final String[] SYSTEM_GROUP_DESCRIPTIONS = {
        "Nobody", "Owners of this organization", "Administrators of this organization, including owners",
        "Moderators of this organization, including administrators",
        "Members of this organization, not including new accounts and guests",
        "Members of this organization, not including guests", "Everyone in this organization, including guests",
        "Everyone on the Internet"};
    static final int NOBODY = 0;
    static final int OWNERS = 1;
    static final int ADMINISTRATORS = 2;
    static final int MODERATORS = 3;
    static final int FULL_MEMBERS = 4;
    static final int MEMBERS = 5;
    static final int EVERYONE = 6;
    static final int INTERNET = 7;

    static final int NEVER = Integer.MAX_VALUE;

    static final class User {
        int id;
        int realmId;
        int index;              // position in the realm's user list
        String fullName;
        String email;
        String deliveryEmail;
        int role = ROLE_MEMBER;
        boolean bot;
        int botType;            // 0: not a bot
        int botOwnerId;         // 0: none
        boolean systemBot;
        boolean active = true;
        boolean mirrorDummy;
        boolean consent;
        boolean longTermIdle;
        boolean canForgeSender;
        int emailVisibility = EMAIL_VISIBILITY_EVERYONE;
        int recipientId;
        boolean avatarUploaded;
        int avatarVersion = 1;
        long dateJoined;
        long lastLogin;
        String timezone = "";
        String apiKey;
        String password;
        String uuid;
        String defaultLanguage = "en";
        int defaultSendingStreamId;   // 0: none
        int activeUntil = NEVER;      // local message index after which a deactivated user is gone

        boolean human() {
            return !bot && !mirrorDummy;
        }

        boolean activeAt(int local) {
            return local < activeUntil;
        }
    }

    static final class Group {
        int id;
        String name;            // null: an anonymous group (a setting's value), no namedusergroup row
        String description = "";
        boolean system;
        boolean deactivated;
        int creatorId;          // 0: none
        long dateCreated;       // 0: none
        final List<Integer> memberIds = new ArrayList<>();
        final List<Integer> subgroupIds = new ArrayList<>();
    }

    static final class Subscription {
        int id;
        User user;
        int recipientId;
        boolean active = true;
        boolean muted;
        boolean pinned;
        String color;
        int joinedAt;           // first local message index the user received
        int leftAt = NEVER;     // first local message index the user no longer received
    }

    static final class Stream {
        int id;
        int index;
        String name;
        String description;
        boolean inviteOnly;
        boolean historyPublic = true;
        boolean webPublic;
        boolean deactivated;
        int deactivatedAt = NEVER;
        boolean isDefault;
        int recipientId;
        long dateCreated;
        User creator;           // first subscriber, there from the start and never leaving
        int canSendMessageGroupId;
        int weight;             // share of the realm's stream messages
        String[] topics;
        User botPoster;         // a bot that posts here now and then, or null
        final List<Subscription> subscriptions = new ArrayList<>();
        int firstMessageId;     // filled while messages are written
    }

    static final class Huddle {
        int id;
        int recipientId;
        String hash;
        User[] members;
        final List<Subscription> subscriptions = new ArrayList<>();
    }

    static final class Attachment {
        int id;
        int index;
        int kind;
        User owner;
        String fileName;
        String pathId;
        String contentType;
        int size;
        long createTime;
        boolean realmPublic;
        boolean webPublic;
        boolean linkedToStream;
        final List<Integer> messageLocals = new ArrayList<>();   // local message indexes, ascending
        final List<Integer> scheduledMessageIds = new ArrayList<>();
    }

    static final class Scheduled {
        int id;
        User sender;
        Stream stream;          // null for a direct message
        User receiver;
        String topic;
        String content;
        String renderedContent;
        long scheduledAt;
        long requestedAt;
        int deliveryType = 1;   // 1 send later, 2 reminder
        int reminderTargetLocal = -1;
        Attachment attachment;
    }

    /** A message whose kind and sender are fixed in advance (the first use of an attachment). */
    static final class Forced {
        final int kind;
        final User sender;
        final Stream stream;
        final User receiver;

        Forced(int kind, User sender, Stream stream, User receiver) {
            this.kind = kind;
            this.sender = sender;
            this.stream = stream;
            this.receiver = receiver;
        }
    }

    static final class Emoji {
        int id;
        String name;
        String fileName;
        boolean deactivated;
        User author;
    }

    static final class ProfileField {
        int id;
        String name;
        String hint;
        int type;
        String fieldData;
        int order;
    }

    static final class Realm {
        final boolean internal;
        final boolean primary;
        int id;
        String stringId;
        String name;
        String description;
        String domain;          // users' delivery email domain
        String host;            // domain of the fake emails of users who hide theirs
        long dateCreated;
        int messages;
        boolean iconUploaded;
        final int[] systemGroups = new int[SYSTEM_GROUP_NAMES.length];
        final List<Group> groups = new ArrayList<>();
        final List<User> users = new ArrayList<>();
        final List<User> humans = new ArrayList<>();
        final List<User> stableHumans = new ArrayList<>();    // never deactivated, not guests
        final List<User> realmBots = new ArrayList<>();
        User owner;
        User mirrorDummy;
        final List<Subscription> personalSubscriptions = new ArrayList<>();
        final List<Stream> streams = new ArrayList<>();
        int[] cumulativeStreamWeights;
        final List<Huddle> huddles = new ArrayList<>();
        final List<Attachment> attachments = new ArrayList<>();
        final List<Scheduled> scheduled = new ArrayList<>();
        final List<Emoji> emoji = new ArrayList<>();
        final List<ProfileField> profileFields = new ArrayList<>();
        final Map<Integer, Forced> forced = new HashMap<>();
        final Map<Integer, int[]> attachmentsAt = new HashMap<>();
        final TreeMap<String, Long> rowCounts = new TreeMap<>();
        long userMessages;
        long firstMessageId;
        long lastMessageId;

        Realm(boolean internal, boolean primary) {
            this.internal = internal;
            this.primary = primary;
        }

        int group(int systemGroup) {
            return systemGroups[systemGroup];
        }

        void count(String table, long rows) {
            rowCounts.merge(table, rows, Long::sum);
        }
    }

    /** The cross-realm system bots (of {@code zulipinternal}) that send into the generated realms. */
    static final class SystemBots {
        int realmId;
        User notificationBot;
        User welcomeBot;
    }
}

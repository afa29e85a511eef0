package org.realmexport.localstack.generator;

/** Names of the independent random streams ({@link Rng#of}): changing one never shifts another. */
final class Streams {
    private Streams() {
    }

    static final long REALM = 1;
    static final long DATE = 2;
    static final long PLAN = 3;
    static final long CONTENT = 4;
    static final long FLAGS = 5;
    static final long REACTIONS = 6;
    static final long FILES = 7;
    static final long USER_TABLES = 8;
    static final long ANALYTICS = 9;
    static final long INTERNAL = 10;
    static final long AVATARS = 11;
}

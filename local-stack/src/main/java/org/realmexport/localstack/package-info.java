/**
 * The embedded stack for the demo and the tests: {@link org.realmexport.localstack.EmbeddedStack}
 * starts a Kafka broker (KRaft, in this JVM), PostgreSQL 17 shaped like a Zulip server's, an
 * S3-compatible server and an empty Zulip uploads directory, on random loopback ports with all
 * state in one temporary directory. Everything else in this package is an internal part of it.
 * The synthetic realm generator lives in {@code org.realmexport.localstack.generator}.
 */
package org.realmexport.localstack;

/**
 * The records that travel on the realm-export topics, one per topic, each serialized by
 * {@link org.realmexport.common.Json#MAPPER} with a format version field {@code v}.
 * A reader rejects a record whose {@code v} is newer than it knows
 * ({@link org.realmexport.common.event.Versioned#checkVersion()}).
 */
package org.realmexport.common.event;

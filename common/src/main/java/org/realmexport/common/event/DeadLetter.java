package org.realmexport.common.event;

/**
 * A record no service could use, on {@code realm-export.dlq}: the reason and the original bytes,
 * so that an operator can repair and re-post it.
 *
 * @param v             format version
 * @param topic         where it was read
 * @param partition     partition
 * @param offset        offset
 * @param error         why it was refused
 * @param originalKey   the original key, UTF-8 (may be null)
 * @param originalValue the original value, base64
 * @param service       the refusing service
 * @param at            epoch milliseconds
 */
public record DeadLetter(int v, String topic, int partition, long offset, String error,
                         String originalKey, String originalValue, String service, long at)
        implements Versioned {
}

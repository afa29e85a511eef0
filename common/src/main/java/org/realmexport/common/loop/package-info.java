/**
 * The exactly-once consume-process-produce loop that the producer and the shard workers share.
 *
 * <p>{@link org.realmexport.common.loop.ExactlyOnceLoop} polls a batch, hands each record to the
 * service's {@link org.realmexport.common.loop.ExactlyOnceLoop.Handler}, and commits the outputs
 * with the batch's offsets in one Kafka transaction; it dead-letters unreadable records, redoes a
 * batch hit by a transient database fault after a backoff, and stops on fencing.
 */
package org.realmexport.common.loop;

package org.realmexport.worker;

/**
 * What the data says is wrong with a task (a shard that no longer has its planned messages, a
 * row pointing outside the export): the task fails, the export fails, the worker goes on.
 */
final class TaskAnomaly extends Exception {
    TaskAnomaly(String message) {
        super(message);
    }
}

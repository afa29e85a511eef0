package org.realmexport.assembler;

/** Points where tests stop a finalizing half-way, to show that the next one finishes the job. */
interface FinalizerHooks {
    FinalizerHooks NONE = new FinalizerHooks() {
    };

    /** Every file and part is written; the tarball is not. */
    default void beforeTarball(String exportId) throws InterruptedException {
    }
}

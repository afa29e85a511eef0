package org.realmexport.worker;

import org.junit.jupiter.api.BeforeAll;

/** {@link RealmTablesTest} on Zulip 11.0's layout (zerver_stream.is_in_zephyr_realm, migrations up to zerver 0751). */
class RealmTablesZulip11Test extends RealmTablesTest {
    @BeforeAll
    static void start() throws Exception {
        start(true);
    }

    @Override
    boolean zulip11Layout() {
        return true;
    }
}

package org.realmexport.common.event;

import org.junit.jupiter.api.Test;
import org.realmexport.common.Json;

import java.net.URI;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The request format across versions: realm requests stay v=1, single-user ones need v=2. */
class ExportRequestTest {
    @Test
    void aRealmRequestIsWrittenAsBeforeTheSingleUserExport() {
        ExportRequest realm = new ExportRequest(1, "req-1", "zulip", "full", URI.create("file:///srv/exports"), null, 0);

        String json = new String(Json.toBytes(realm), StandardCharsets.UTF_8);

        assertThat(json).doesNotContain("\"user\"").contains("\"v\":1");
        assertThat(realm.userExport()).isFalse();
    }

    @Test
    void aSingleUserRequestIsVersion2SoThatOlderProducersDeadLetterIt() throws Exception {
        ExportRequest user = ExportRequest.forUser("req-2", "zulip", "iago@zulip.com", null, 0);

        ExportRequest read = Json.fromBytes(Json.toBytes(user), ExportRequest.class);

        assertThat(read.v()).isEqualTo(2);
        assertThat(read.userExport()).isTrue();
        assertThat(read.user()).isEqualTo("iago@zulip.com");
        read.checkVersion();
    }

    @Test
    void aNewerVersionIsRefused() throws Exception {
        ExportRequest newer = Json.fromBytes("{\"v\":3,\"request_id\":\"r\",\"realm\":\"zulip\",\"type\":\"full\"}"
                .getBytes(StandardCharsets.UTF_8), ExportRequest.class);

        assertThatThrownBy(newer::checkVersion).hasMessageContaining("v=3");
    }
}

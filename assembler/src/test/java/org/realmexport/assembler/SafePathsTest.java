package org.realmexport.assembler;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SafePathsTest {
    @ParameterizedTest
    @ValueSource(strings = {"../etc/passwd", "2/ab/../../../x", "/etc/passwd", "a//b", "a/./b", "a\\..\\b",
            "C:/x", "a/..", "..", "a\0b"})
    void refusesPathsThatCouldLeaveTheirDirectory(String path) {
        assertThat(SafePaths.isSafe(path)).isFalse();
        assertThatThrownBy(() -> SafePaths.relative(path, "path_id of attachment 3"))
                .isInstanceOf(ExportAnomaly.class).hasMessageContaining("path_id of attachment 3");
    }

    @ParameterizedTest
    @ValueSource(strings = {"2/ab/cd/photo.png", "2/x..y/a..b.txt", "emoji.png", "2/ü/名前.pdf"})
    void acceptsZulipPathIds(String path) throws ExportAnomaly {
        assertThat(SafePaths.relative(path, "x")).isEqualTo(path);
    }
}

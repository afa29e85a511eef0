package org.realmexport.common;

import java.util.Arrays;
import java.util.Locale;

/** Zulip's export types, with the numbers {@code zerver_realmexport.type} stores. */
public enum ExportType {
    PUBLIC(1, "public"),
    FULL_WITH_CONSENT(2, "full-with-consent"),
    FULL(3, "full");

    private final int zulipCode;
    private final String cliName;

    ExportType(int zulipCode, String cliName) {
        this.zulipCode = zulipCode;
        this.cliName = cliName;
    }

    public int zulipCode() {
        return zulipCode;
    }

    public String cliName() {
        return cliName;
    }

    /** Accepts the CLI name ({@code full}), the enum name or Zulip's number. */
    public static ExportType parse(String text) {
        String t = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
        for (ExportType type : values()) {
            if (type.cliName.equals(t) || type.name().toLowerCase(Locale.ROOT).equals(t)
                    || String.valueOf(type.zulipCode).equals(t)) {
                return type;
            }
        }
        throw new IllegalArgumentException("unknown export type '" + text + "' (expected one of "
                + Arrays.stream(values()).map(ExportType::cliName).toList() + ")");
    }

    public static ExportType ofZulipCode(int code) {
        for (ExportType type : values()) {
            if (type.zulipCode == code) {
                return type;
            }
        }
        throw new IllegalArgumentException("unknown zerver_realmexport.type " + code);
    }
}

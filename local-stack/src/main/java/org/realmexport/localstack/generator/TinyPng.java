package org.realmexport.localstack.generator;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.zip.Adler32;
import java.util.zip.CRC32;

/**
 * Small valid PNG images (avatars, custom emoji, realm icons) encoded by hand with uncompressed
 * ("stored") deflate blocks, so the bytes depend on nothing but the arguments: not on the zlib
 * build or the JDK.
 */
final class TinyPng {
    private TinyPng() {
    }

    /** A {@code size} x {@code size} RGB image: a diagonal gradient seeded by {@code color}. */
    static byte[] image(int size, int color) {
        int rowBytes = 1 + 3 * size;
        byte[] raw = new byte[rowBytes * size];
        for (int y = 0; y < size; y++) {
            int at = y * rowBytes;
            raw[at++] = 0; // filter: none
            for (int x = 0; x < size; x++) {
                int shade = (x + y) * 96 / Math.max(1, 2 * size - 2);
                raw[at++] = (byte) (((color >> 16) & 0xff) ^ shade);
                raw[at++] = (byte) (((color >> 8) & 0xff) ^ shade);
                raw[at++] = (byte) ((color & 0xff) ^ shade);
            }
        }
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        png.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        byte[] ihdr = new byte[13];
        putInt(ihdr, 0, size);
        putInt(ihdr, 4, size);
        ihdr[8] = 8;  // bit depth
        ihdr[9] = 2;  // colour type: RGB
        chunk(png, "IHDR", ihdr);
        chunk(png, "IDAT", zlibStored(raw));
        chunk(png, "IEND", new byte[0]);
        return png.toByteArray();
    }

    private static byte[] zlibStored(byte[] data) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(data.length + 64);
        out.write(0x78);
        out.write(0x01);
        int offset = 0;
        do {
            int len = Math.min(65535, data.length - offset);
            boolean last = offset + len >= data.length;
            out.write(last ? 1 : 0);
            out.write(len & 0xff);
            out.write(len >>> 8);
            out.write(~len & 0xff);
            out.write((~len >>> 8) & 0xff);
            out.write(data, offset, len);
            offset += len;
        } while (offset < data.length);
        Adler32 adler = new Adler32();
        adler.update(data);
        byte[] sum = new byte[4];
        putInt(sum, 0, (int) adler.getValue());
        out.writeBytes(sum);
        return out.toByteArray();
    }

    private static void chunk(ByteArrayOutputStream png, String type, byte[] data) {
        byte[] len = new byte[4];
        putInt(len, 0, data.length);
        png.writeBytes(len);
        byte[] typeBytes = type.getBytes(StandardCharsets.US_ASCII);
        png.writeBytes(typeBytes);
        png.writeBytes(data);
        CRC32 crc = new CRC32();
        crc.update(typeBytes);
        crc.update(data);
        byte[] sum = new byte[4];
        putInt(sum, 0, (int) crc.getValue());
        png.writeBytes(sum);
    }

    private static void putInt(byte[] b, int at, int v) {
        b[at] = (byte) (v >>> 24);
        b[at + 1] = (byte) (v >>> 16);
        b[at + 2] = (byte) (v >>> 8);
        b[at + 3] = (byte) v;
    }
}

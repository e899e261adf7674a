package dev.mambaout.natives;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ModuleImagesTest {

    @Test
    void ptxTextGetsExactlyOneTerminatingNul() {
        byte[] ptx = ".version 8.0\n.target sm_80\n".getBytes(StandardCharsets.US_ASCII);
        byte[] loaded = ModuleImages.forLoad(ptx);
        assertEquals(ptx.length + 1, loaded.length);
        assertEquals(0, loaded[ptx.length]);
        assertArrayEquals(ptx, Arrays.copyOf(loaded, ptx.length));
        assertSame(loaded, ModuleImages.forLoad(loaded), "already terminated: passed through");
    }

    @Test
    void binaryImagesPassThroughUntouched() {
        byte[] elf = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 5};
        byte[] fatbin = {0x50, (byte) 0xED, 0x55, (byte) 0xBA, 1, 0, 16, 0, 7};
        assertSame(elf, ModuleImages.forLoad(elf));
        assertSame(fatbin, ModuleImages.forLoad(fatbin));
        assertEquals("cubin (ELF), 9 bytes", ModuleImages.describe(elf));
        assertEquals("fatbin, 9 bytes", ModuleImages.describe(fatbin));
    }

    @Test
    void emptyImageIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> ModuleImages.forLoad(new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> ModuleImages.forLoad(null));
    }
}

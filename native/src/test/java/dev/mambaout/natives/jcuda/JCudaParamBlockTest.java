package dev.mambaout.natives.jcuda;

import dev.mambaout.natives.ParamKind;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.mambaout.natives.ParamKind.F32;
import static dev.mambaout.natives.ParamKind.I32;
import static dev.mambaout.natives.ParamKind.I64;
import static dev.mambaout.natives.ParamKind.PTR;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JCudaParamBlockTest {

    @Test
    void cellsHoldTheValuesAndTheParamsPointerIsBuiltOnce() {
        List<ParamKind> kinds = List.of(PTR, I32, F32, I64);
        JCudaParamBlock block = new JCudaParamBlock(kinds);
        var params = block.kernelParams;
        block.setPtr(0, 0x7f00_1234_5678_0000L);
        block.setI32(1, -7);
        block.setF32(2, 2.5f);
        block.setI64(3, 1L << 40);
        assertEquals(0x7f00_1234_5678_0000L, block.rawValue(0));
        assertEquals(-7, block.rawValue(1));
        assertEquals(Float.floatToRawIntBits(2.5f), block.rawValue(2));
        assertEquals(1L << 40, block.rawValue(3));
        block.setI32(1, 9);
        assertEquals(9, block.rawValue(1));
        assertSame(params, block.kernelParams);
        assertEquals(kinds, block.kinds());
    }

    @Test
    void wrongKindOrIndexIsRefused() {
        JCudaParamBlock block = new JCudaParamBlock(List.of(F32));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> block.setI32(0, 1));
        assertTrue(e.getMessage().contains("parameter 0 is F32, not I32"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> block.setF32(1, 1f));
    }
}

package dev.mambaout.bench;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CPU side of {@link CudnnCompare}: its JSON writer and the NVRTC helper source's kernel names. */
class CudnnCompareTest {

    @Test
    void jsonWritesNestedMapsListsAndNumbers() {
        Map<String, Object> inner = new LinkedHashMap<>();
        inner.put("medianUs", 12.5);
        inner.put("nan", Double.NaN);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", "a \"q\"\\\n");
        m.put("n", 256);
        m.put("t", inner);
        m.put("list", List.of(1L, true));
        m.put("empty", new ArrayList<>());
        String s = CudnnCompare.Json.write(m).replaceAll("\\s+", "");
        assertEquals("{\"name\":\"a\\\"q\\\"\\\\\\n\",\"n\":256,\"t\":{\"medianUs\":12.5000,\"nan\":null},"
                + "\"list\":[1,true],\"empty\":[]}", s);
    }

    @Test
    void helperSourceDefinesEveryKernelTheSpecsName() {
        for (var spec : List.of(BenchKernels.FILL_F32, BenchKernels.FILL_BF16, BenchKernels.COPY_ROWS,
                BenchKernels.NCHW_TO_NHWC, BenchKernels.GATE_BF16, BenchKernels.GATE_F32)) {
            assertTrue(BenchKernels.SOURCE.contains("extern \"C\" __global__ void " + spec.name() + "("), spec.name());
        }
    }
}

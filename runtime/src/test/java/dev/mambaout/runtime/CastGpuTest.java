package dev.mambaout.runtime;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.natives.CudaDriver.Backend;
import dev.mambaout.runtime.launch.CastLaunch;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * cast_f32_bf16 and cast_bf16_f32 bit for bit against DType.floatToBf16 / bf16ToFloat, out poisoned. f32 inputs:
 * random bit patterns (every exponent, NaNs with payloads, subnormals) and edge cases (+-0, +-inf, the largest
 * finite float, rounding ties to even and odd, values that round up into the next binade or to infinity); bf16
 * inputs: all 65,536 patterns, then random ones. Sizes around the 8-element vector and an odd million; aligned and
 * misaligned views of either side (the per-element path).
 */
@Tag("gpu")
class CastGpuTest {

    private static final int[] EDGES = {0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7f7fffff, 0xff7fffff,
            0x3f808000, 0x3f818000, 0x3f80ffff, 0x3f7fffff, 0x7f7f8000, 0x7f7f7fff, 0x00000001, 0x807fffff, 0x00008000,
            0x00018000, 0x7fc00000, 0xffc00001, 0x7f800001, 0x7fbfffff, 0xff812345, 0x3f800001, 0x40490fdb};

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        // n, x offset, out offset
        int[][] sizes = {{1, 0, 0}, {7, 0, 0}, {8, 0, 0}, {23, 0, 0}, {65_536, 0, 0}, {1_000_003, 0, 0}, {4099, 1, 0},
                {4099, 0, 3}, {4099, 2, 2}};
        for (Backend b : Backend.values())
            for (DType from : new DType[] {DType.F32, DType.BF16})
                for (int[] s : sizes) out.add(Arguments.of(b, from, s[0], s[1], s[2]));
        return out.stream();
    }

    @ParameterizedTest(name = "{0} from {1} n={2} xOffset={3} outOffset={4}")
    @MethodSource("cases")
    void castsBitForBit(Backend backend, DType from, int n, int xOffset, int outOffset) {
        DType to = from == DType.F32 ? DType.BF16 : DType.F32;
        Random r = new Random(n * 31L + xOffset + System.nanoTime());
        int[] bits = new int[n];  // f32 bit patterns, or bf16 patterns in the low 16 bits
        for (int i = 0; i < n; i++) {
            // (through float and back: the pattern DType.floatToBf16 will see, even where a JVM quiets a NaN)
            if (from == DType.F32) bits[i] = Float.floatToRawIntBits(Float.intBitsToFloat(i < EDGES.length ? EDGES[i] : r.nextInt()));
            else bits[i] = (n >= 65_536 && i < 65_536 ? i : r.nextInt()) & 0xffff;
        }
        long bytes = 4L * (n + Math.max(xOffset, outOffset)) + 1024;
        try (Device dev = GpuSupport.open(backend); dev.mambaout.runtime.Stream st = dev.newStream();
             DeviceArena arena = dev.newArena(4 * bytes); PinnedBuffer host = dev.newPinned(bytes)) {
            Tensor tx = arena.allocate(from, Shape.of(n + xOffset)).view(xOffset, Shape.of(n));
            Tensor tout = arena.allocate(to, Shape.of(n + outOffset)).view(outOffset, Shape.of(n));
            GpuSupport.poison(dev, tout, st);
            for (int i = 0; i < n; i++) {
                if (from == DType.F32) host.setInt(i, bits[i]);
                else host.setShort(i, (short) bits[i]);
            }
            host.uploadAsync(tx, st);
            st.synchronize();
            try (Launch l = CastLaunch.prepare(dev.modules(), tout, tx)) {
                l.launch(st);
                host.downloadAsync(tout, st);
                st.synchronize();
                for (int i = 0; i < n; i++) {
                    if (from == DType.F32) {
                        short want = DType.floatToBf16(Float.intBitsToFloat(bits[i]));
                        short got = host.getShort(i);
                        if (got != want) {
                            assertEquals(String.format("0x%04x", want & 0xffff), String.format("0x%04x", got & 0xffff),
                                    String.format("bf16 of f32 0x%08x (element %d)", bits[i], i));
                        }
                    } else {
                        int want = Float.floatToRawIntBits(DType.bf16ToFloat((short) bits[i]));
                        int got = host.getInt(i);
                        if (got != want) {
                            assertEquals(String.format("0x%08x", want), String.format("0x%08x", got),
                                    String.format("f32 of bf16 0x%04x (element %d)", bits[i], i));
                        }
                    }
                }
            }
        }
    }
}

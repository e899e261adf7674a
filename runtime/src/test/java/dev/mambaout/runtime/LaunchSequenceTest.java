package dev.mambaout.runtime;

import dev.mambaout.kernels.KernelArg;
import dev.mambaout.kernels.KernelCatalog;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LaunchSequenceTest {

    private static Launch fill(FakeDriver d, int function, List<FakeDriver.RecordingBlock> blocks) {
        Launch l = Launch.prepare(d, KernelCatalog.SMOKE_FILL, function, Dim3.of(1), Dim3.of(32), 0,
                List.of(KernelArg.ptr(0x1000), KernelArg.f32(1f), KernelArg.i32(8)));
        blocks.add(d.lastBlock);
        return l;
    }

    @Test
    void queuesInOrderAndClosesEveryLaunch() {
        FakeDriver d = new FakeDriver();
        List<FakeDriver.RecordingBlock> blocks = new ArrayList<>();
        try (Device dev = Device.open(d, 0); Stream s = dev.newStream()) {
            LaunchSequence seq = LaunchSequence.prepare(() -> fill(d, 7, blocks), () -> fill(d, 8, blocks),
                    () -> fill(d, 9, blocks));
            seq.launch(s);
            seq.launchFirst(2, s);
            assertEquals(List.of("7 1x1x1 32x1x1 smem=0 stream=5", "8 1x1x1 32x1x1 smem=0 stream=5",
                    "9 1x1x1 32x1x1 smem=0 stream=5", "7 1x1x1 32x1x1 smem=0 stream=5",
                    "8 1x1x1 32x1x1 smem=0 stream=5"), d.launches);
            assertEquals(3, seq.size());
            assertThrows(IllegalArgumentException.class, () -> seq.launchFirst(4, s));
            seq.close();
            for (FakeDriver.RecordingBlock b : blocks) assertTrue(b.closed);
            assertThrows(IllegalStateException.class, () -> seq.launch(s));
        }
    }

    @Test
    void aFailedPreparationClosesTheLaunchesAlreadyMade() {
        FakeDriver d = new FakeDriver();
        List<FakeDriver.RecordingBlock> blocks = new ArrayList<>();
        IllegalArgumentException boom = new IllegalArgumentException("third launch refused");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LaunchSequence.prepare(
                () -> fill(d, 1, blocks), () -> fill(d, 2, blocks), () -> { throw boom; }));
        assertSame(boom, e);
        assertEquals(2, blocks.size());
        for (FakeDriver.RecordingBlock b : blocks) assertTrue(b.closed);
    }
}

package dev.mambaout.model.train;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LrScheduleTest {

    @Test
    void oneCycleHasPyTorchsAnchors() {
        // max 2e-3, 100 steps, pct_start 0.11: initial 8e-5, warmup ends at step 10, final 8e-9 at step 99.
        LrSchedule s = LrSchedule.OneCycle.defaults(2e-3, 100, 0.11);
        assertEquals(8e-5, s.lr(0), 1e-18);
        assertEquals((8e-5 + 2e-3) / 2, s.lr(5), 1e-15);
        assertEquals(2e-3, s.lr(10), 1e-18);
        assertEquals(8e-9, s.lr(99), 1e-20);
        for (int i = 1; i <= 10; i++) assertTrue(s.lr(i) > s.lr(i - 1), "warmup rises at " + i);
        for (int i = 11; i < 100; i++) assertTrue(s.lr(i) < s.lr(i - 1), "annealing falls at " + i);
        // pct_start 0.1 of 100: warmup ends at 9 (PyTorch's float(pct_start * total) - 1), annealing runs 9..99:
        // half way (step 54) cos = 0, a third of the way (step 39) cos = 1/2.
        LrSchedule t = LrSchedule.OneCycle.defaults(2e-3, 100, 0.1);
        assertEquals(2e-3, t.lr(9), 1e-18);
        assertEquals((2e-3 + 8e-9) / 2, t.lr(54), 1e-15);
        assertEquals(8e-9 + (2e-3 - 8e-9) * 0.75, t.lr(39), 1e-15);
        // A zero-length warmup (1 step of 5 * 0.2) starts at the peak, where PyTorch divides by zero.
        assertEquals(1.0, LrSchedule.OneCycle.defaults(1.0, 5, 0.2).lr(0), 0);
    }

    @Test
    void warmupCosineClosedForm() {
        LrSchedule s = new LrSchedule.WarmupCosine(1.0, 100, 10);
        assertEquals(0, s.lr(0), 0);
        assertEquals(0.5, s.lr(5), 1e-15);
        assertEquals(1.0, s.lr(10), 1e-15);
        assertEquals(0.5, s.lr(55), 1e-15);
        assertEquals(0.5 * (1 + Math.cos(Math.PI * 89 / 90)), s.lr(99), 1e-15);
        assertEquals(1.0, new LrSchedule.WarmupCosine(1.0, 4, 0).lr(0), 0);
    }

    @Test
    void badArgumentsAreRefused() {
        LrSchedule s = new LrSchedule.WarmupCosine(1.0, 10, 2);
        assertThrows(IllegalArgumentException.class, () -> s.lr(10));
        assertThrows(IllegalArgumentException.class, () -> s.lr(-1));
        assertThrows(IllegalArgumentException.class, () -> new LrSchedule.WarmupCosine(1.0, 10, 11));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.OneCycle.defaults(0, 10, 0.1));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.OneCycle.defaults(1, 10, 1.5));
    }
}

package dev.mambaout.bench;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EventTimesTest {

    @Test
    void warmUpIsNotRecordedAndMedianIsOfTheMeasurements() {
        EventTimes t = new EventTimes(16);
        t.add(100f);                       // a warm-up invocation
        t.recording(true);
        for (float v : new float[] {5f, 1f, 4f, 2f, 3f}) t.add(v);
        assertEquals(5, t.count());
        assertEquals(3.0, t.median());
        assertEquals(1.0, t.quantile(0.10));   // nearest rank: ceil(0.5) = 1st of 5
        assertEquals(5.0, t.quantile(0.90));   // ceil(4.5) = 5th
        t.add(6f);
        assertEquals(3.5, t.median());
    }

    @Test
    void reportIsOneJsonLineWithTheDerivedValues() {
        EventTimes t = new EventTimes(4);
        t.recording(true);
        t.add(2f);
        t.add(4f);
        Map<String, String> params = new LinkedHashMap<>();
        params.put("direction", "D2D");
        String line = t.report("CopyBench.copy", params, "GPU \"x\"", EventTimes.derived("GBps", 1.5));
        assertEquals("{\"benchmark\":\"CopyBench.copy\",\"params\":{\"direction\":\"D2D\"},\"device\":\"GPU \\\"x\\\"\","
                + "\"invocations\":2,\"droppedInvocations\":0,\"medianMs\":3.00000,\"p10Ms\":2.00000,\"p90Ms\":4.00000,"
                + "\"GBps\":1.50000}", line);
        assertTrue(new EventTimes(1).report("x", Map.of(), "d", Map.of()).contains("\"medianMs\":null"));
    }
}

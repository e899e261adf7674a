package dev.mambaout.natives.jcuda;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** Against java.util.HashMap as the reference, with keys shaped like handles (aligned, clustered). */
class HandleTableTest {

    @Test
    void behavesLikeAMapUnderRandomPutsAndRemoves() {
        long seed = System.nanoTime();
        Random r = new Random(seed);
        HandleTable<String> table = new HandleTable<>();
        Map<Long, String> reference = new HashMap<>();
        for (int step = 0; step < 5000; step++) {
            long key = 0x7f3a_0000_0000L + 16L * r.nextInt(600);
            int op = r.nextInt(3);
            if (op < 2) {
                String v = "v" + step;
                table.put(key, v);
                reference.put(key, v);
            } else {
                assertEquals(reference.remove(key), table.remove(key), "seed " + seed + " step " + step);
            }
            long probe = 0x7f3a_0000_0000L + 16L * r.nextInt(600);
            assertEquals(reference.get(probe), table.get(probe), "seed " + seed + " step " + step);
        }
        for (Map.Entry<Long, String> e : reference.entrySet()) assertEquals(e.getValue(), table.get(e.getKey()));
        assertNull(table.get(12345));
    }
}

package dev.mambaout.model.train;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(10)
class BatchLoaderTest {

    /** Image i is filled with i + k/10 at position k; its label is i % 3; image 'failAt' cannot be read. */
    private static Dataset numbers(int n, int failAt) {
        return new Dataset() {
            @Override public int size() { return n; }
            @Override public int channels() { return 1; }
            @Override public int height() { return 2; }
            @Override public int width() { return 2; }
            @Override public int numClasses() { return 3; }
            @Override public int label(int index) { return index % 3; }
            @Override public void image(int index, float[] dst, int offset) throws IOException {
                if (index == failAt) throw new IOException("image " + index + " is unreadable");
                for (int k = 0; k < 4; k++) dst[offset + k] = index + k / 10f;
            }
            @Override public String describe() { return "numbers"; }
        };
    }

    private static List<StagingBuffer> buffers(int capacity) {
        return List.of(StagingBuffer.onHeap(capacity, 4), StagingBuffer.onHeap(capacity, 4));
    }

    @Test
    void batchesFollowTheOrderThroughTwoReusedBuffers() throws IOException {
        int[] order = {9, 3, 0, 7, 1, 8, 2, 6, 4, 5, 10};
        Set<StagingBuffer> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        List<Integer> visited = new ArrayList<>();
        try (BatchLoader l = new BatchLoader(numbers(11, -1), order, 3, false, 0, buffers(3))) {
            int expectIndex = 0;
            for (BatchLoader.Batch b; (b = l.next()) != null; ) {
                assertEquals(expectIndex++, b.index());
                float[] img = b.buffer().imageArray(b.count());
                int[] labels = b.buffer().labelArray(b.count());
                for (int k = 0; k < b.count(); k++) {
                    int i = order[b.index() * 3 + k];
                    visited.add(i);
                    assertEquals(i % 3, labels[k]);
                    for (int j = 0; j < 4; j++) assertEquals(i + j / 10f, img[k * 4 + j]);
                }
                seen.add(b.buffer());
                l.release(b);
            }
            assertNull(l.next());
        }
        assertEquals(List.of(9, 3, 0, 7, 1, 8, 2, 6, 4, 5, 10), visited);
        assertEquals(2, seen.size());
    }

    @Test
    void dropLastAndAStartBatch() throws IOException {
        int[] order = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
        try (BatchLoader l = new BatchLoader(numbers(10, -1), order, 4, true, 1, buffers(4))) {
            BatchLoader.Batch b = l.next();
            assertEquals(1, b.index());
            assertEquals(4, b.count());
            assertEquals(4f, b.buffer().imageArray(1)[0]);
            l.release(b);
            assertNull(l.next(), "the partial third batch is dropped");
        }
    }

    @Test
    void aFailedImageSurfacesOnTheCallersThread() throws IOException {
        try (BatchLoader l = new BatchLoader(numbers(10, 5), new int[] {0, 1, 2, 3, 4, 5, 6, 7}, 2, true, 0, buffers(2))) {
            l.release(l.next());
            l.release(l.next());
            IOException e = assertThrows(IOException.class, () -> {
                for (BatchLoader.Batch b; (b = l.next()) != null; ) l.release(b);
            });
            assertEquals("image 5 is unreadable", e.getMessage());
        }
    }

    @Test
    void closingAnUnfinishedPassStopsTheThread() throws IOException {
        BatchLoader l = new BatchLoader(numbers(1000, -1), new int[1000], 1, true, 0, buffers(1));
        assertTrue(l.next() != null);
        l.close();
    }

    @Test
    void buffersMustFit() {
        assertThrows(IllegalArgumentException.class, () -> new BatchLoader(numbers(10, -1), new int[10], 5, true, 0, buffers(4)));
        assertThrows(IllegalArgumentException.class, () -> new BatchLoader(numbers(10, -1), new int[10], 2, true, 0,
                List.of(StagingBuffer.onHeap(2, 3))));
    }
}

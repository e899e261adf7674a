package dev.mambaout.runtime.exec;

import dev.mambaout.graph.DType;
import dev.mambaout.runtime.Device;
import dev.mambaout.runtime.DeviceArena;
import dev.mambaout.runtime.PinnedBuffer;
import dev.mambaout.runtime.Stream;
import dev.mambaout.runtime.Tensor;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Every weight a lowered program reads, in one device buffer, each in the layout its kernel wants (packed once at
 * upload: im2col order for convolutions, tap-major for the depthwise conv, LayerScale folded into fc2, bf16 where
 * the GEMMs take bf16). Programs for other batch sizes of the same model share it: their lowerings ask for the
 * same keys.
 */
public final class GpuWeights implements AutoCloseable, WeightViews {

    private final DeviceArena buffer;
    private final Map<String, Tensor> byKey = new HashMap<>();

    private GpuWeights(DeviceArena buffer) { this.buffer = buffer; }

    /** Packs and uploads {@code weights} through one pinned staging buffer on {@code stream}, then waits for it. */
    static GpuWeights upload(Device device, Stream stream, List<Lowering.Weight> weights, WeightSource source) {
        long total = 0, largest = 0;
        for (Lowering.Weight w : weights) {
            total += align(w.bytes());
            largest = Math.max(largest, w.bytes());
        }
        GpuWeights g = new GpuWeights(device.newArena(Math.max(total, 256)));
        try (PinnedBuffer staging = device.newPinned(Math.max(largest, 4))) {
            for (Lowering.Weight w : weights) {
                float[] v = w.values().apply(source);
                if (v.length != w.shape().numel()) {
                    throw new IllegalArgumentException("weight " + w.key() + " has " + v.length + " values, expected "
                            + w.shape().numel() + " for shape " + w.shape());
                }
                for (int i = 0; i < v.length; i++) {
                    if (!Float.isFinite(v[i])) {
                        throw new IllegalArgumentException("weight " + w.key() + " holds " + v[i] + " at element " + i);
                    }
                }
                Tensor t = g.buffer.allocate(w.dtype(), w.shape(), w.key());
                if (w.dtype() == DType.BF16) {
                    for (int i = 0; i < v.length; i++) staging.setShort(i, DType.floatToBf16(v[i]));
                } else {
                    staging.put(v);
                }
                staging.uploadAsync(t, stream);
                // The staging buffer is reused by the next weight: this one's copy must be done first.
                stream.synchronize();
                g.byKey.put(w.key(), t);
            }
        } catch (RuntimeException e) {
            g.close();
            throw e;
        }
        return g;
    }

    private static long align(long b) { return (b + 255) / 256 * 256; }

    /** Whether every weight of a lowering is here (a program for another batch size of the same model). */
    boolean covers(List<Lowering.Weight> weights) {
        for (Lowering.Weight w : weights) {
            Tensor t = byKey.get(w.key());
            if (t == null || !t.shape().equals(w.shape()) || t.dtype() != w.dtype()) return false;
        }
        return true;
    }

    @Override
    public Tensor get(Lowering.Weight w) {
        Tensor t = byKey.get(w.key());
        if (t == null) throw new IllegalStateException("weight " + w.key() + " was not uploaded");
        return t;
    }

    /** Bytes of device memory the weights take. */
    public long bytes() { return buffer.capacity(); }

    @Override
    public void close() { buffer.close(); }
}

package dev.mambaout.model.checkpoint;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SequencedSet;

/**
 * Named tensors read from a checkpoint: one safetensors file or a sharded set. Values are converted on read (F16,
 * BF16, F32, F64 to float[] or double[]; integer types to long[]); nothing is read before it is asked for.
 */
public sealed interface TensorSource extends AutoCloseable permits SafetensorsFile, ShardedSafetensors {

    /** Tensor names in file order. */
    SequencedSet<String> names();

    /** The header entry of a tensor; throws {@link IllegalArgumentException} naming the tensor when absent. */
    TensorInfo info(String name);

    /** The string-to-string {@code __metadata__} of the file (of the index, for a sharded set). */
    Map<String, String> metadata();

    double[] readDoubles(String name);

    float[] readFloats(String name);

    /** Integer tensors (I64, I32, U8) widened to long; a floating-point tensor is refused rather than truncated. */
    long[] readLongs(String name);

    default boolean contains(String name) {
        return names().contains(name);
    }

    @Override
    void close();

    /**
     * Opens a checkpoint: a {@code .safetensors} file, a {@code model.safetensors.index.json} (sharded), or a
     * directory holding either (the index wins when both are there).
     */
    static TensorSource open(Path path) throws IOException {
        if (Files.isDirectory(path)) {
            Path index = path.resolve(ShardedSafetensors.INDEX_NAME);
            if (Files.isRegularFile(index)) return ShardedSafetensors.open(index);
            Path single = path.resolve("model.safetensors");
            if (Files.isRegularFile(single)) return SafetensorsFile.open(single);
            throw new IOException(path + ": directory holds neither " + ShardedSafetensors.INDEX_NAME
                    + " nor model.safetensors");
        }
        if (path.getFileName() != null && path.getFileName().toString().endsWith(".index.json")) {
            return ShardedSafetensors.open(path);
        }
        return SafetensorsFile.open(path);
    }
}

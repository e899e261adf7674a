package dev.mambaout.natives;

import java.util.List;

/**
 * The argument block of one kernel launch, built once when a launch is prepared and rewritten in place: replaying a
 * launch allocates nothing. Made by {@link CudaDriver#newParamBlock(List)}, so each backend keeps the values in the
 * form its launch call takes (a {@code void**} in native memory for Panama, JCuda Pointers for JCuda).
 */
public interface ParamBlock extends AutoCloseable {

    List<ParamKind> kinds();

    void setPtr(int index, long devicePointer);

    void setI32(int index, int value);

    void setI64(int index, long value);

    void setF32(int index, float value);

    /** Frees the block's native memory, if it has any. */
    @Override
    void close();
}

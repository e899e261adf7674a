package dev.mambaout.graph;

/**
 * Element types the engine stores. The names are safetensors' dtype strings, so checkpoints map onto them directly.
 */
public enum DType {
    F64(8, "F64", true),
    F32(4, "F32", true),
    F16(2, "F16", true),
    BF16(2, "BF16", true),
    I64(8, "I64", false),
    I32(4, "I32", false),
    U8(1, "U8", false);

    private final int bytes;
    private final String safetensorsName;
    private final boolean floating;

    DType(int bytes, String safetensorsName, boolean floating) {
        this.bytes = bytes;
        this.safetensorsName = safetensorsName;
        this.floating = floating;
    }

    /** Size of one element in bytes. */
    public int bytes() { return bytes; }

    /** The dtype string safetensors writes in its header. */
    public String safetensorsName() { return safetensorsName; }

    public boolean isFloatingPoint() { return floating; }

    /** The dtype for a safetensors dtype string, or null when the engine does not handle that type. */
    public static DType fromSafetensors(String name) {
        for (DType t : values()) {
            if (t.safetensorsName.equals(name)) return t;
        }
        return null;
    }

    /** bf16 is the upper half of an IEEE f32; rounding to nearest even, NaN kept quiet. */
    public static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) return (short) ((bits >>> 16) | 0x0040);
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    public static float bf16ToFloat(short h) {
        return Float.intBitsToFloat((h & 0xffff) << 16);
    }
}

package dev.mambaout.natives.nccl;

/**
 * An NCCL version as {@code ncclGetVersion} encodes it: nccl.h's {@code NCCL_VERSION(X,Y,Z)} is
 * {@code X*1000 + Y*100 + Z} up to 2.8 and {@code X*10000 + Y*100 + Z} from 2.9 on (2.8.4 = 2804, 2.21.5 = 22105).
 */
public record NcclVersion(int major, int minor, int patch) {

    public NcclVersion {
        if (major < 0 || minor < 0 || patch < 0 || minor > 99 || patch > 99) {
            throw new IllegalArgumentException("not an NCCL version: " + major + "." + minor + "." + patch);
        }
    }

    /** Decodes {@code NCCL_VERSION_CODE}; the two encodings do not overlap (the old one ends at 2899). */
    public static NcclVersion fromCode(int code) {
        if (code <= 0) throw new IllegalArgumentException("not an NCCL version code: " + code);
        if (code < 10000) return new NcclVersion(code / 1000, code % 1000 / 100, code % 100);
        return new NcclVersion(code / 10000, code % 10000 / 100, code % 100);
    }

    /** {@code NCCL_VERSION(major, minor, patch)}. */
    public int code() {
        return major <= 2 && minor <= 8 ? major * 1000 + minor * 100 + patch : major * 10000 + minor * 100 + patch;
    }

    public boolean atLeast(int wantMajor, int wantMinor) {
        return major != wantMajor ? major > wantMajor : minor >= wantMinor;
    }

    @Override
    public String toString() { return major + "." + minor + "." + patch; }
}

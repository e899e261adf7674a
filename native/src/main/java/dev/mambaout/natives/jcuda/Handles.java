package dev.mambaout.natives.jcuda;

import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUfunction;
import jcuda.driver.CUgraph;
import jcuda.driver.CUgraphExec;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;

/**
 * JCuda's handle classes, opened just enough to read the driver's value out ({@code getNativePointer} is protected
 * in JCuda). The engine passes handles as plain {@code long}s that must be the driver's real values, because the
 * Panama bindings of cuBLAS, cuDNN and NVRTC receive the same streams and pointers; subclassing is how JCuda's own
 * API lets them out, without reflection. JCuda's native code fills in these objects exactly like its own classes.
 */
final class Handles {

    private Handles() {}

    static final class Stream extends CUstream {
        long value() { return getNativePointer(); }
    }

    static final class Event extends CUevent {
        long value() { return getNativePointer(); }
    }

    static final class Module extends CUmodule {
        long value() { return getNativePointer(); }
    }

    static final class Function extends CUfunction {
        long value() { return getNativePointer(); }
    }

    static final class Graph extends CUgraph {
        long value() { return getNativePointer(); }
    }

    static final class GraphExec extends CUgraphExec {
        long value() { return getNativePointer(); }
    }

    static final class Context extends CUcontext {
        long value() { return getNativePointer(); }
    }

    /** A device pointer from its value: JCuda adds {@code nativePointer + byteOffset}, so base 0 plus the value. */
    static final class DevicePtr extends CUdeviceptr {
        private static final CUdeviceptr NULL = new CUdeviceptr();

        DevicePtr() {}

        DevicePtr(long address) { super(NULL, address); }

        long value() { return getNativePointer() + getByteOffset(); }
    }

    /** A host pointer from a native address (page-locked or from an Arena), read by JCuda as a plain pointer. */
    static final class HostPtr extends Pointer {
        HostPtr() {}

        HostPtr(long address) { super(address); }

        long value() { return getNativePointer() + getByteOffset(); }
    }
}

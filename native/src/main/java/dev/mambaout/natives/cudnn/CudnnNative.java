package dev.mambaout.natives.cudnn;

import dev.mambaout.natives.CudaUnavailableException;
import dev.mambaout.natives.NativeLibraries;
import dev.mambaout.natives.panama.Downcalls;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Downcalls into cuDNN 9's legacy convolution API. cuDNN 9's libcudnn.so.9 is a shim that exports the public API and
 * loads its sub-libraries itself; if a build's shim lacks the convolution symbols, libcudnn_cnn.so.9 is searched too.
 * Descriptors, handles, streams and device pointers travel as {@code long}. Call {@link Cudnn#require()} first.
 */
final class CudnnNative {

    static final SymbolLookup LIB = lookup();

    private static final FunctionDescriptor CREATE_OUT = FunctionDescriptor.of(JAVA_INT, ADDRESS);
    private static final FunctionDescriptor ONE_LONG = FunctionDescriptor.of(JAVA_INT, JAVA_LONG);

    static final MethodHandle GET_VERSION = Downcalls.bind(LIB, "cudnnGetVersion", FunctionDescriptor.of(JAVA_LONG));
    static final MethodHandle ERROR_STRING = Downcalls.bind(LIB, "cudnnGetErrorString",
            FunctionDescriptor.of(ADDRESS, JAVA_INT));
    static final MethodHandle CREATE = Downcalls.bind(LIB, "cudnnCreate", CREATE_OUT);
    static final MethodHandle DESTROY = Downcalls.bind(LIB, "cudnnDestroy", ONE_LONG);
    static final MethodHandle SET_STREAM = Downcalls.bind(LIB, "cudnnSetStream",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG));

    static final MethodHandle CREATE_TENSOR = Downcalls.bind(LIB, "cudnnCreateTensorDescriptor", CREATE_OUT);
    /** cudnnSetTensor4dDescriptor(desc, format, dataType, n, c, h, w). */
    static final MethodHandle SET_TENSOR_4D = Downcalls.bind(LIB, "cudnnSetTensor4dDescriptor",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    static final MethodHandle DESTROY_TENSOR = Downcalls.bind(LIB, "cudnnDestroyTensorDescriptor", ONE_LONG);

    static final MethodHandle CREATE_FILTER = Downcalls.bind(LIB, "cudnnCreateFilterDescriptor", CREATE_OUT);
    /** cudnnSetFilter4dDescriptor(desc, dataType, format, k, c, h, w): data type before format, unlike tensors. */
    static final MethodHandle SET_FILTER_4D = Downcalls.bind(LIB, "cudnnSetFilter4dDescriptor",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    static final MethodHandle DESTROY_FILTER = Downcalls.bind(LIB, "cudnnDestroyFilterDescriptor", ONE_LONG);

    static final MethodHandle CREATE_CONV = Downcalls.bind(LIB, "cudnnCreateConvolutionDescriptor", CREATE_OUT);
    /** cudnnSetConvolution2dDescriptor(desc, pad_h, pad_w, u, v, dilation_h, dilation_w, mode, computeType). */
    static final MethodHandle SET_CONV_2D = Downcalls.bind(LIB, "cudnnSetConvolution2dDescriptor",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                    JAVA_INT, JAVA_INT));
    static final MethodHandle SET_GROUPS = Downcalls.bind(LIB, "cudnnSetConvolutionGroupCount",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT));
    static final MethodHandle SET_MATH = Downcalls.bind(LIB, "cudnnSetConvolutionMathType",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT));
    static final MethodHandle DESTROY_CONV = Downcalls.bind(LIB, "cudnnDestroyConvolutionDescriptor", ONE_LONG);
    /** cudnnGetConvolution2dForwardOutputDim(conv, x, w, int* n, int* c, int* h, int* w). */
    static final MethodHandle OUTPUT_DIM = Downcalls.bind(LIB, "cudnnGetConvolution2dForwardOutputDim",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS, ADDRESS));

    /** (handle, desc1, desc2, conv, desc3, int requested, int* returned, perf*): the _v7 queries and Find alike. */
    private static final FunctionDescriptor ALGO_QUERY = FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG,
            JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS);
    /** (handle, desc1, desc2, conv, desc3, algo, size_t*). */
    private static final FunctionDescriptor WORKSPACE_QUERY = FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG,
            JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS);
    /** (handle, alpha*, desc1, p1, desc2, p2, conv, algo, workspace, wsBytes, beta*, desc3, p3). */
    private static final FunctionDescriptor CONV_CALL = FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG,
            JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG);

    /** Which algorithm query each direction uses: the heuristic _v7 where present, else the benchmarking Find. */
    static final String FWD_QUERY_NAME = queryName("cudnnGetConvolutionForwardAlgorithm_v7",
            "cudnnFindConvolutionForwardAlgorithm");
    static final String BWD_DATA_QUERY_NAME = queryName("cudnnGetConvolutionBackwardDataAlgorithm_v7",
            "cudnnFindConvolutionBackwardDataAlgorithm");
    static final String BWD_FILTER_QUERY_NAME = queryName("cudnnGetConvolutionBackwardFilterAlgorithm_v7",
            "cudnnFindConvolutionBackwardFilterAlgorithm");
    static final MethodHandle FWD_QUERY = Downcalls.bind(LIB, FWD_QUERY_NAME, ALGO_QUERY);
    static final MethodHandle BWD_DATA_QUERY = Downcalls.bind(LIB, BWD_DATA_QUERY_NAME, ALGO_QUERY);
    static final MethodHandle BWD_FILTER_QUERY = Downcalls.bind(LIB, BWD_FILTER_QUERY_NAME, ALGO_QUERY);

    static final MethodHandle FWD_WORKSPACE = Downcalls.bind(LIB, "cudnnGetConvolutionForwardWorkspaceSize",
            WORKSPACE_QUERY);
    static final MethodHandle BWD_DATA_WORKSPACE = Downcalls.bind(LIB, "cudnnGetConvolutionBackwardDataWorkspaceSize",
            WORKSPACE_QUERY);
    static final MethodHandle BWD_FILTER_WORKSPACE = Downcalls.bind(LIB,
            "cudnnGetConvolutionBackwardFilterWorkspaceSize", WORKSPACE_QUERY);

    static final MethodHandle FORWARD = Downcalls.bind(LIB, "cudnnConvolutionForward", CONV_CALL);
    static final MethodHandle BACKWARD_DATA = Downcalls.bind(LIB, "cudnnConvolutionBackwardData", CONV_CALL);
    static final MethodHandle BACKWARD_FILTER = Downcalls.bind(LIB, "cudnnConvolutionBackwardFilter", CONV_CALL);

    private CudnnNative() {}

    private static SymbolLookup lookup() {
        SymbolLookup shim = Cudnn.require().lookup();
        if (shim.find("cudnnConvolutionForward").isPresent()) return shim;
        try {
            return shim.or(NativeLibraries.load("cudnn_cnn", List.of("libcudnn_cnn.so.9")).lookup());
        } catch (CudaUnavailableException e) {
            return shim;   // binding then names the missing symbol
        }
    }

    private static String queryName(String v7, String find) {
        return LIB.find(v7).isPresent() ? v7 : find;
    }

    static String errorString(int status) {
        return Downcalls.statusText(ERROR_STRING, status, "CUDNN_STATUS_" + status);
    }

    static void check(String call, int status) {
        Downcalls.check(call, status, CudnnNative::errorString, s -> null);
    }
}

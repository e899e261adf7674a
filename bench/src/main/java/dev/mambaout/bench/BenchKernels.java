package dev.mambaout.bench;

import dev.mambaout.kernels.KernelArg;
import dev.mambaout.kernels.KernelSpec;
import dev.mambaout.natives.CudaDriver;
import dev.mambaout.natives.ParamKind;
import dev.mambaout.natives.nvrtc.Nvrtc;
import dev.mambaout.natives.nvrtc.Ptx;
import dev.mambaout.runtime.Device;
import dev.mambaout.runtime.Dim3;
import dev.mambaout.runtime.Launch;

import java.util.ArrayList;
import java.util.List;

import static dev.mambaout.kernels.KernelArg.f32;
import static dev.mambaout.kernels.KernelArg.i32;
import static dev.mambaout.kernels.KernelArg.i64;
import static dev.mambaout.kernels.KernelArg.ptr;

/**
 * Helper kernels that only the comparisons need, compiled at run time through the project's NVRTC binding (so they
 * add nothing to the kernels jar): random fills, a strided row copy, an NCHW f32 to NHWC bf16 cast, and the separate
 * gate pass {@code out = act(g) * cat(i, conv + bias)} that a cuDNN depthwise conv would need after it.
 *
 * <p>The gate pass is the plain memory-bound kernel one would write for that job (16-byte loads and stores, a
 * grid-stride loop, one thread per 16 bytes of output); it reads g and i from fc1's output [tokens, 2*hidden], conv
 * from a contiguous [tokens, convChannels] tensor, and writes [tokens, hidden]: 3 * hidden elements per token.
 */
final class BenchKernels implements AutoCloseable {

    static final String SOURCE = """
            typedef unsigned short bf16_t;
            __device__ __forceinline__ float bf2f(bf16_t h) { return __uint_as_float(((unsigned)h) << 16); }
            __device__ __forceinline__ bf16_t f2bf(float f) {   // round to nearest even; NaN stays NaN
                unsigned u = __float_as_uint(f);
                if ((u & 0x7fffffffu) > 0x7f800000u) return (bf16_t)((u >> 16) | 0x40u);
                u += 0x7fffu + ((u >> 16) & 1u);
                return (bf16_t)(u >> 16);
            }
            __device__ __forceinline__ float act(float v, int a) {   // Activation ordinals: 0 = GELU (erf), 1 = SiLU
                return a == 0 ? 0.5f * v * (1.0f + erff(v * 0.70710678118654752f)) : v / (1.0f + expf(-v));
            }
            __device__ __forceinline__ unsigned mix(unsigned long long i, unsigned seed) {
                unsigned x = (unsigned)i * 0x9E3779B9u ^ (unsigned)(i >> 32) * 0x85EBCA6Bu ^ seed;
                x ^= x >> 16; x *= 0x7feb352du; x ^= x >> 15; x *= 0x846ca68bu; x ^= x >> 16;
                return x;
            }
            __device__ __forceinline__ float uniform(unsigned long long i, unsigned seed, float scale) {
                return ((float)(mix(i, seed) >> 8) * (1.0f / 8388608.0f) - 1.0f) * scale;   // [-scale, scale)
            }
            extern "C" __global__ void fill_f32(float* p, long long n, unsigned seed, float scale) {
                for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
                     i += (long long)gridDim.x * blockDim.x) p[i] = uniform(i, seed, scale);
            }
            extern "C" __global__ void fill_bf16(bf16_t* p, long long n, unsigned seed, float scale) {
                for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
                     i += (long long)gridDim.x * blockDim.x) p[i] = f2bf(uniform(i, seed, scale));
            }
            // dst[r * dstPitch + c] = src[r * srcPitch + c], c < width; all in 32-bit words.
            extern "C" __global__ void copy_rows_u32(unsigned* dst, const unsigned* src, long long rows, int width,
                                                     int srcPitch, int dstPitch) {
                const long long total = rows * width;
                for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
                     i += (long long)gridDim.x * blockDim.x) {
                    const long long r = i / width; const int c = (int)(i - r * width);
                    dst[r * dstPitch + c] = src[r * srcPitch + c];
                }
            }
            // x [n, c, hw] f32 -> y [n, hw, c] bf16, one thread per pixel.
            extern "C" __global__ void nchw_f32_to_nhwc_bf16(bf16_t* y, const float* x, int n, int c, int hw) {
                const long long pixels = (long long)n * hw;
                for (long long p = blockIdx.x * (long long)blockDim.x + threadIdx.x; p < pixels;
                     p += (long long)gridDim.x * blockDim.x) {
                    const long long img = p / hw; const long long q = p - img * hw;
                    for (int ch = 0; ch < c; ch++) y[p * c + ch] = f2bf(x[(img * c + ch) * hw + q]);
                }
            }
            // out [t, hidden] = act(x[t, 0:hidden]) * cat(x[t, hidden : 2*hidden - cc], conv[t, :] + bias), 8 bf16 per
            // thread; hidden and cc multiples of 8, 16-byte aligned rows.
            extern "C" __global__ void gate_bf16(bf16_t* out, const bf16_t* x, const bf16_t* conv, const float* bias,
                                                 int tokens, int hidden, int cc, int a) {
                const unsigned vpr = hidden / 8, ic = hidden - cc, total = (unsigned)tokens * vpr;
                for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
                    const unsigned t = i / vpr, j = (i - t * vpr) * 8;
                    const uint4 g = *reinterpret_cast<const uint4*>(x + (unsigned long long)t * 2 * hidden + j);
                    uint4 v;
                    float b[8] = {0, 0, 0, 0, 0, 0, 0, 0};
                    if (j < ic) {
                        v = *reinterpret_cast<const uint4*>(x + (unsigned long long)t * 2 * hidden + hidden + j);
                    } else {
                        v = *reinterpret_cast<const uint4*>(conv + (unsigned long long)t * cc + (j - ic));
                        const float4 b0 = *reinterpret_cast<const float4*>(bias + (j - ic));
                        const float4 b1 = *reinterpret_cast<const float4*>(bias + (j - ic) + 4);
                        b[0] = b0.x; b[1] = b0.y; b[2] = b0.z; b[3] = b0.w; b[4] = b1.x; b[5] = b1.y; b[6] = b1.z; b[7] = b1.w;
                    }
                    const bf16_t* gh = reinterpret_cast<const bf16_t*>(&g);
                    const bf16_t* vh = reinterpret_cast<const bf16_t*>(&v);
                    uint4 o;
                    bf16_t* oh = reinterpret_cast<bf16_t*>(&o);
            #pragma unroll
                    for (int k = 0; k < 8; k++) oh[k] = f2bf(act(bf2f(gh[k]), a) * (bf2f(vh[k]) + b[k]));
                    *reinterpret_cast<uint4*>(out + (unsigned long long)t * hidden + j) = o;
                }
            }
            // The same in f32, 4 per thread (float4); hidden and cc multiples of 4.
            extern "C" __global__ void gate_f32(float* out, const float* x, const float* conv, const float* bias,
                                                int tokens, int hidden, int cc, int a) {
                const unsigned vpr = hidden / 4, ic = hidden - cc, total = (unsigned)tokens * vpr;
                for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
                    const unsigned t = i / vpr, j = (i - t * vpr) * 4;
                    const float4 g = *reinterpret_cast<const float4*>(x + (unsigned long long)t * 2 * hidden + j);
                    float4 v, b;
                    b.x = 0.0f; b.y = 0.0f; b.z = 0.0f; b.w = 0.0f;
                    if (j < ic) {
                        v = *reinterpret_cast<const float4*>(x + (unsigned long long)t * 2 * hidden + hidden + j);
                    } else {
                        v = *reinterpret_cast<const float4*>(conv + (unsigned long long)t * cc + (j - ic));
                        b = *reinterpret_cast<const float4*>(bias + (j - ic));
                    }
                    float4 o;
                    o.x = act(g.x, a) * (v.x + b.x); o.y = act(g.y, a) * (v.y + b.y);
                    o.z = act(g.z, a) * (v.z + b.z); o.w = act(g.w, a) * (v.w + b.w);
                    *reinterpret_cast<float4*>(out + (unsigned long long)t * hidden + j) = o;
                }
            }
            """;

    private static final String MODULE = "bench-nvrtc";
    private static final int BLOCK = 256;

    static final KernelSpec FILL_F32 = spec("fill_f32", "p", ParamKind.PTR, "n", ParamKind.I64, "seed", ParamKind.I32,
            "scale", ParamKind.F32);
    static final KernelSpec FILL_BF16 = spec("fill_bf16", "p", ParamKind.PTR, "n", ParamKind.I64, "seed", ParamKind.I32,
            "scale", ParamKind.F32);
    static final KernelSpec COPY_ROWS = spec("copy_rows_u32", "dst", ParamKind.PTR, "src", ParamKind.PTR,
            "rows", ParamKind.I64, "width", ParamKind.I32, "srcPitch", ParamKind.I32, "dstPitch", ParamKind.I32);
    static final KernelSpec NCHW_TO_NHWC = spec("nchw_f32_to_nhwc_bf16", "y", ParamKind.PTR, "x", ParamKind.PTR,
            "n", ParamKind.I32, "c", ParamKind.I32, "hw", ParamKind.I32);
    static final KernelSpec GATE_BF16 = gateSpec("gate_bf16");
    static final KernelSpec GATE_F32 = gateSpec("gate_f32");

    private final Device device;
    private final long module;
    private final int maxBlocks;

    BenchKernels(Device device) {
        this.device = device;
        Device.Info info = device.info();
        Ptx ptx = Nvrtc.compile(SOURCE, "bench_kernels.cu",
                List.of("--gpu-architecture=compute_" + info.computeMajor() + info.computeMinor()));
        this.module = device.driver().moduleLoadData(ptx.image());
        this.maxBlocks = info.smCount() * 16;
    }

    private static KernelSpec spec(String name, Object... nameKind) {
        List<KernelSpec.Param> params = new ArrayList<>();
        for (int i = 0; i < nameKind.length; i += 2) {
            params.add(new KernelSpec.Param((String) nameKind[i], (ParamKind) nameKind[i + 1]));
        }
        return new KernelSpec(MODULE, name, params);
    }

    private static KernelSpec gateSpec(String name) {
        return spec(name, "out", ParamKind.PTR, "x", ParamKind.PTR, "conv", ParamKind.PTR, "bias", ParamKind.PTR,
                "tokens", ParamKind.I32, "hidden", ParamKind.I32, "cc", ParamKind.I32, "act", ParamKind.I32);
    }

    /** A grid-stride launch over {@code work} items: at most 16 blocks of 256 per SM. */
    Launch prepare(KernelSpec spec, long work, KernelArg... args) {
        int blocks = (int) Math.max(1, Math.min(maxBlocks, (work + BLOCK - 1) / BLOCK));
        CudaDriver d = device.driver();
        return Launch.prepare(d, spec, d.moduleGetFunction(module, spec.name()), new Dim3(blocks, 1, 1),
                new Dim3(BLOCK, 1, 1), 0, List.of(args));
    }

    /** Fills {@code count} elements at {@code p} (4-byte f32 or 2-byte bf16) with uniform values in [-scale, scale). */
    void fillUniform(dev.mambaout.runtime.Stream s, long p, long count, boolean bf16, int seed, float scale) {
        try (Launch l = prepare(bf16 ? FILL_BF16 : FILL_F32, count, ptr(p), i64(count), i32(seed), f32(scale))) {
            l.launch(s);
        }
    }

    /** The gate pass; {@code conv} is a contiguous [tokens, cc] tensor, {@code bias} f32 [cc]. */
    Launch prepareGate(boolean bf16, long out, long x, long conv, long bias, int tokens, int hidden, int cc, int act) {
        int v = bf16 ? 8 : 4;
        if (hidden % v != 0 || cc % v != 0) {
            throw new IllegalArgumentException("the gate kernel needs hidden and conv channels multiples of " + v
                    + ", got " + hidden + " and " + cc);
        }
        return prepare(bf16 ? GATE_BF16 : GATE_F32, (long) tokens * (hidden / v), ptr(out), ptr(x), ptr(conv),
                ptr(bias), i32(tokens), i32(hidden), i32(cc), i32(act));
    }

    @Override
    public void close() { device.driver().moduleUnload(module); }
}

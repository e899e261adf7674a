package dev.mambaout.kernels;

import dev.mambaout.natives.ParamKind;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KernelCatalogTest {

    private static final Pattern KERNEL =
            Pattern.compile("extern\\s+\"C\"\\s+__global__\\s+void\\s+(?:__launch_bounds__\\([^)]*\\)\\s+)?(\\w+)\\s*\\(([^)]*)\\)");

    /** Reads every extern "C" kernel signature straight from the .cu sources: the catalog must match them. */
    private static Map<String, KernelSpec> parseSources() throws Exception {
        Map<String, KernelSpec> out = new HashMap<>();
        try (Stream<Path> files = Files.list(Path.of("src/main/cuda"))) {
            for (Path cu : files.filter(p -> p.toString().endsWith(".cu")).toList()) {
                String module = cu.getFileName().toString().replace(".cu", "");
                Matcher m = KERNEL.matcher(Files.readString(cu));
                while (m.find()) {
                    List<KernelSpec.Param> params = new ArrayList<>();
                    String list = m.group(2).replaceAll("\\s+", " ").trim();
                    if (!list.isEmpty()) {
                        for (String p : list.split(",")) {
                            String decl = p.trim();
                            String name = decl.substring(decl.lastIndexOf(' ') + 1).replace("*", "");
                            ParamKind kind = decl.contains("*") ? ParamKind.PTR
                                    : decl.startsWith("float ") ? ParamKind.F32
                                    : decl.startsWith("int ") ? ParamKind.I32
                                    : decl.startsWith("long long ") || decl.startsWith("int64_t ") ? ParamKind.I64
                                    : null;
                            if (kind == null) throw new AssertionError("unhandled parameter type: " + decl);
                            params.add(new KernelSpec.Param(name, kind));
                        }
                    }
                    out.put(m.group(1), new KernelSpec(module, m.group(1), params));
                }
            }
        }
        return out;
    }

    @Test
    void catalogMatchesTheCudaSources() throws Exception {
        Map<String, KernelSpec> sources = parseSources();
        assertTrue(sources.size() >= 6, "found " + sources.keySet());
        for (KernelSpec s : KernelCatalog.all()) {
            assertEquals(sources.get(s.name()), s, "catalog entry " + s.qualifiedName());
        }
        assertEquals(sources.keySet(), new java.util.HashSet<>(KernelCatalog.all().stream().map(KernelSpec::name).toList()),
                "every extern \"C\" kernel has a catalog entry");
    }

    @Test
    void argumentsAreCheckedByCountAndKindNamingKernelAndParameter() {
        KernelSpec axpy = KernelCatalog.get("smoke_axpy");
        axpy.check(List.of(KernelArg.ptr(256), KernelArg.ptr(512), KernelArg.f32(2f), KernelArg.i32(7)));

        var count = assertThrows(IllegalArgumentException.class,
                () -> axpy.check(List.of(KernelArg.ptr(256), KernelArg.ptr(512), KernelArg.f32(2f))));
        assertEquals("kernel smoke/smoke_axpy takes 4 arguments (y: PTR, x: PTR, a: F32, n: I32) but was given 3",
                count.getMessage());

        var kind = assertThrows(IllegalArgumentException.class,
                () -> axpy.check(List.of(KernelArg.ptr(256), KernelArg.ptr(512), KernelArg.i32(2), KernelArg.i32(7))));
        assertEquals("kernel smoke/smoke_axpy: argument 2 (a) must be F32 but was given I32", kind.getMessage());

        var index = assertThrows(IllegalArgumentException.class, () -> axpy.checkKind(4, ParamKind.I32));
        assertTrue(index.getMessage().contains("has no parameter 4"), index.getMessage());

        var unknown = assertThrows(IllegalArgumentException.class, () -> KernelCatalog.get("layernorm_fwd"));
        assertTrue(unknown.getMessage().contains("layernorm_forward"), unknown.getMessage());
    }

    @Test
    void layerNormGeometryCoversEveryToken() {
        for (int n : new int[] {1, 7, 8, 9, 4097, 50_176}) {
            for (int c : new int[] {1, 48, 85, 288, 772}) {
                for (int bytes : new int[] {4, 2}) {
                    int perBlock = LayerNormKernels.TOKENS_PER_BLOCK * LayerNormKernels.forwardTokensPerWarp(c, bytes);
                    int grid = LayerNormKernels.forwardGrid(n, c, bytes);
                    assertTrue(grid * perBlock >= n && (grid - 1) * perBlock < n,
                            "n=" + n + " C=" + c + " bytes=" + bytes + " grid=" + grid);
                    assertEquals(LaunchGeometry.linear(grid, LayerNormKernels.BLOCK), LayerNormKernels.forward(n, c, bytes));
                }
                assertEquals(LayerNormKernels.forwardGrid(n, c, 4), LayerNormKernels.forwardGrid(n, c));
            }
            int r = LayerNormKernels.backwardRowsPerBlock(n, 132);
            int g = LayerNormKernels.backwardGrid(n, r);
            assertTrue(g * r >= n && (g - 1) * r < n, "n=" + n + " r=" + r + " g=" + g);
        }
        assertThrows(IllegalArgumentException.class, () -> LayerNormKernels.forwardGrid(0, 48));
        assertEquals(9, LayerNormKernels.reduceGrid(257));
        assertEquals(1, LayerNormKernels.reduceGrid(32));
    }

    /** Tokens per warp worked out by hand from the rule in layernorm.cu (units of float4, or float for odd C). */
    @Test
    void forwardGroupsFollowTheKernelsRule() {
        int[][] cases = {
                {48, 8},    // 12 float4: 4 lanes x 3
                {96, 4},    // 24 float4: 8 lanes x 3
                {192, 2},   // 48 float4: 16 lanes x 3
                {288, 1},   // 72 float4: 32 lanes x 3 (last unit on 24 of them)
                {768, 1},   // 192 float4: 32 lanes x 6
                {772, 1},   // 193 float4: warp per token
                {3, 8}, {42, 2}, {85, 1}, {97, 1}, {1, 8}, {4, 8}, {52, 4}};
        for (int[] c : cases) {
            assertEquals(c[1], LayerNormKernels.forwardTokensPerWarp(c[0]), "C=" + c[0]);
        }
        assertEquals(12544, LayerNormKernels.forwardGrid(802_816, 48));  // 64 tokens per block
        assertEquals(ceil(12_544, LayerNormKernels.TOKENS_PER_BLOCK), LayerNormKernels.forwardGrid(12_544, 288));
        assertEquals(ceil(802_816, 3 * 132), LayerNormKernels.backwardRowsPerBlock(802_816, 132));
        assertEquals(LayerNormKernels.TOKENS_PER_BLOCK, LayerNormKernels.backwardRowsPerBlock(100, 132));
        assertThrows(IllegalArgumentException.class, () -> LayerNormKernels.forwardTokensPerWarp(0));
    }

    /** The bf16 forward's rule worked out by hand: units of 8 bf16 when C % 8 == 0, else single elements. */
    @Test
    void bf16ForwardGroupsFollowTheKernelsRule() {
        int[][] cases = {
                {48, 8},    // 6 units: 4 lanes x 2
                {96, 8},    // 12 units: 4 lanes x 3
                {192, 4},   // 24 units: 8 lanes x 3
                {288, 2},   // 36 units: 16 lanes x 3 (last unit on 4 of them)
                {384, 2},   // 48 units: 16 lanes x 3
                {576, 1},   // 72 units: 32 lanes x 3
                {768, 1},   // 96 units: 32 lanes x 3
                {776, 1},   // 97 units: warp per token
                {52, 1},    // not a multiple of 8: 52 scalars, 32 lanes
                {44, 2}, {12, 8}, {3, 8}, {1, 8}, {8, 8}, {85, 1}, {97, 1}};
        for (int[] c : cases) {
            assertEquals(c[1], LayerNormKernels.forwardTokensPerWarp(c[0], 2), "C=" + c[0]);
        }
        // the femto / tiny batch-256 stages
        assertEquals(802_816 / 64, LayerNormKernels.forwardGrid(802_816, 48, 2));
        assertEquals(802_816 / 64, LayerNormKernels.forwardGrid(802_816, 96, 2));
        assertEquals(200_704 / 32, LayerNormKernels.forwardGrid(200_704, 192, 2));
        assertEquals(50_176 / 16, LayerNormKernels.forwardGrid(50_176, 288, 2));
        assertEquals(50_176 / 16, LayerNormKernels.forwardGrid(50_176, 384, 2));
        assertEquals(12_544 / 8, LayerNormKernels.forwardGrid(12_544, 576, 2));
        assertEquals(ceil(13, 64), LayerNormKernels.forwardGrid(13, 48, 2));
        var bad = assertThrows(IllegalArgumentException.class, () -> LayerNormKernels.forwardTokensPerWarp(48, 8));
        assertTrue(bad.getMessage().contains("8-byte"), bad.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LayerNormKernels.forwardGrid(0, 48, 2));
    }

    private static int ceil(int a, int b) { return (a + b - 1) / b; }
}

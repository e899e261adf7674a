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
            Pattern.compile("extern\\s+\"C\"\\s+__global__\\s+void\\s+(\\w+)\\s*\\(([^)]*)\\)");

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
            assertTrue(LayerNormKernels.forwardGrid(n) * LayerNormKernels.TOKENS_PER_BLOCK >= n);
            assertTrue((LayerNormKernels.forwardGrid(n) - 1) * LayerNormKernels.TOKENS_PER_BLOCK < n);
            int r = LayerNormKernels.backwardRowsPerBlock(n, 132);
            int g = LayerNormKernels.backwardGrid(n, r);
            assertTrue(g * r >= n && (g - 1) * r < n, "n=" + n + " r=" + r + " g=" + g);
        }
        assertThrows(IllegalArgumentException.class, () -> LayerNormKernels.forwardGrid(0));
        assertEquals(2, LayerNormKernels.reduceGrid(257));
    }
}

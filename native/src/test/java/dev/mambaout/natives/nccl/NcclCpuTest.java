package dev.mambaout.natives.nccl;

import dev.mambaout.natives.CudaException;
import dev.mambaout.natives.CudaUnavailableException;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static dev.mambaout.natives.blas.LibraryMissingTest.assertNamesEveryAttempt;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** NCCL pieces that need no library: nccl.h's numbers, version codes, unique ids, messages, a missing library. */
class NcclCpuTest {

    @Test
    void dataTypesMatchNcclH() {
        int[][] expected = {{0, 1}, {1, 1}, {2, 4}, {3, 4}, {4, 8}, {5, 8}, {6, 2}, {7, 4}, {8, 8}, {9, 2}};
        NcclDataType[] order = {NcclDataType.INT8, NcclDataType.UINT8, NcclDataType.INT32, NcclDataType.UINT32,
                NcclDataType.INT64, NcclDataType.UINT64, NcclDataType.FLOAT16, NcclDataType.FLOAT32,
                NcclDataType.FLOAT64, NcclDataType.BFLOAT16};
        for (int i = 0; i < order.length; i++) {
            assertEquals(expected[i][0], order[i].value(), order[i].name());
            assertEquals(expected[i][1], order[i].bytes(), order[i].name());
        }
    }

    @Test
    void reductionsAndResultsMatchNcclH() {
        assertEquals(0, NcclRedOp.SUM.value());    // ncclSum
        assertEquals(1, NcclRedOp.PROD.value());   // ncclProd
        assertEquals(2, NcclRedOp.MAX.value());    // ncclMax
        assertEquals(3, NcclRedOp.MIN.value());    // ncclMin
        assertEquals(4, NcclRedOp.AVG.value());    // ncclAvg
        String[] names = {"ncclSuccess", "ncclUnhandledCudaError", "ncclSystemError", "ncclInternalError",
                "ncclInvalidArgument", "ncclInvalidUsage", "ncclRemoteError", "ncclInProgress", "ncclTimeout"};
        for (int i = 0; i < names.length; i++) {
            assertEquals(i, NcclResult.of(i).value());
            assertEquals(names[i], NcclResult.of(i).cName());
        }
        assertNull(NcclResult.of(42));
        assertNull(NcclResult.of(-1));
        assertEquals("ncclResult_t 42", NcclResult.nameOf(42));
    }

    @Test
    void versionCodesFollowBothEncodings() {
        assertEquals(new NcclVersion(2, 8, 4), NcclVersion.fromCode(2804));      // before 2.9: X*1000 + Y*100 + Z
        assertEquals(new NcclVersion(2, 21, 5), NcclVersion.fromCode(22105));    // since 2.9: X*10000 + Y*100 + Z
        assertEquals(new NcclVersion(2, 9, 6), NcclVersion.fromCode(20906));
        for (int code : new int[] {2804, 20906, 21803, 22105, 22803, 30001}) {
            assertEquals(code, NcclVersion.fromCode(code).code());
        }
        assertEquals("2.28.3", NcclVersion.fromCode(22803).toString());
        assertTrue(NcclVersion.fromCode(21803).atLeast(2, 18));
        assertTrue(NcclVersion.fromCode(30001).atLeast(2, 18));
        assertFalse(NcclVersion.fromCode(21705).atLeast(2, 18));
        assertFalse(NcclVersion.fromCode(2804).atLeast(2, 9));
        assertThrows(IllegalArgumentException.class, () -> NcclVersion.fromCode(0));
    }

    @Test
    void uniqueIdsTravelAsHexAndNeverPrint() {
        byte[] raw = new byte[NcclUniqueId.BYTES];
        new Random(11).nextBytes(raw);
        NcclUniqueId id = NcclUniqueId.of(raw);
        String hex = id.hex();
        assertEquals(256, hex.length());
        assertEquals(id, NcclUniqueId.fromHex(hex));
        assertEquals(id, NcclUniqueId.fromHex(" " + hex.toUpperCase() + "\n"));
        assertArrayEquals(raw, id.bytes());
        raw[0] ^= 1;   // the id copied its input
        assertNotEquals(NcclUniqueId.of(raw), id);
        id.bytes()[1] ^= 1;   // and hands out copies
        assertEquals(NcclUniqueId.fromHex(hex), id);
        assertFalse(id.toString().contains(hex.substring(0, 16)), id.toString());
        var shortId = assertThrows(IllegalArgumentException.class, () -> NcclUniqueId.of(new byte[127]));
        assertTrue(shortId.getMessage().contains("128 bytes, got 127"), shortId.getMessage());
        var shortHex = assertThrows(IllegalArgumentException.class, () -> NcclUniqueId.fromHex("abcd"));
        assertTrue(shortHex.getMessage().contains("256 hex digits, got 4"), shortHex.getMessage());
        assertThrows(IllegalArgumentException.class, () -> NcclUniqueId.fromHex("zz" + hex.substring(2)));
        // ncclCommInitRank takes the struct by value: 128 bytes, byte-aligned.
        assertEquals(128, NcclUniqueId.LAYOUT.byteSize());
        assertEquals(1, NcclUniqueId.LAYOUT.byteAlignment());
    }

    @Test
    void exceptionsNameTheCallStatusAndNcclsWords() {
        NcclException e = new NcclException("ncclAllReduce", 5, "invalid usage; last error: comm is null");
        assertInstanceOf(CudaException.class, e);
        assertEquals(NcclResult.INVALID_USAGE, e.result());
        assertEquals("ncclInvalidUsage", e.statusName());
        assertEquals("ncclAllReduce failed: ncclInvalidUsage (5): invalid usage; last error: comm is null",
                e.getMessage());
        assertNull(new NcclException("ncclGroupEnd", 77, null).result());
        assertEquals("ncclGroupEnd failed: ncclResult_t 77 (77)", new NcclException("ncclGroupEnd", 77, null).getMessage());
    }

    @Test
    void argumentsAreCheckedBeforeTheLibraryIsLoaded() {
        var dup = assertThrows(IllegalArgumentException.class, () -> Nccl.commInitAll(0, 1, 0));
        assertTrue(dup.getMessage().contains("device 0 listed twice (ranks 0 and 2)"), dup.getMessage());
        assertThrows(IllegalArgumentException.class, Nccl::commInitAll);
        assertThrows(IllegalArgumentException.class, () -> Nccl.commInitAll(-1));
        NcclUniqueId id = NcclUniqueId.of(new byte[NcclUniqueId.BYTES]);
        var rank = assertThrows(IllegalArgumentException.class, () -> Nccl.commInitRank(2, id, 2));
        assertTrue(rank.getMessage().contains("rank 2 of 2"), rank.getMessage());
    }

    @Test
    void ncclMissingNamesEveryAttempt() {
        assertNamesEveryAttempt(Nccl::version, "libnccl.so.2");
        assertNamesEveryAttempt(Nccl::uniqueId, "libnccl.so.2");
        assertNamesEveryAttempt(() -> Nccl.allReduce(0, 0, 1, NcclDataType.FLOAT32, NcclRedOp.SUM, 0, 0),
                "libnccl.so.2");
    }

    @Test
    void overrideToAMissingFileNamesItAndTheOverride() {
        String bogus = "/nonexistent/libnccl.so.2";
        System.setProperty("mambaout.lib.nccl", bogus);
        try {
            CudaUnavailableException e;
            try {
                Nccl.version();
                Assumptions.abort("libnccl was already loaded in this JVM (" + Nccl.libraryPath()
                        + "); the override is read only before the first load");
                return;
            } catch (CudaUnavailableException caught) {
                e = caught;
            }
            String m = e.getMessage();
            assertTrue(m.contains("could not load nccl from the override"), m);
            assertTrue(m.contains(bogus + ": "), m);
            assertTrue(m.contains("-Dmambaout.lib.nccl") && m.contains("MAMBAOUT_LIB_NCCL"), m);
        } finally {
            System.clearProperty("mambaout.lib.nccl");
        }
    }
}

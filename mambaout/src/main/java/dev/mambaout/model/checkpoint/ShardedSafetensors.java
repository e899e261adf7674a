package dev.mambaout.model.checkpoint;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.SequencedSet;

/**
 * A checkpoint split over several safetensors files by a Hugging Face {@code model.safetensors.index.json}
 * ({@code {"metadata": {...}, "weight_map": {tensor: shard file}}}). Every shard is opened (and so validated) up front;
 * each tensor is read from the shard the index names, and the index must agree with the shards.
 */
public final class ShardedSafetensors implements TensorSource {

    public static final String INDEX_NAME = "model.safetensors.index.json";

    private final Path index;
    private final Map<String, SafetensorsFile> owner;
    private final List<SafetensorsFile> shards;
    private final SequencedSet<String> names;
    private final Map<String, String> metadata;

    private ShardedSafetensors(Path index, Map<String, SafetensorsFile> owner, List<SafetensorsFile> shards,
                               Map<String, String> metadata) {
        this.index = index;
        this.owner = owner;
        this.shards = shards;
        this.names = Collections.unmodifiableSequencedSet(new LinkedHashSet<>(owner.keySet()));
        this.metadata = metadata;
    }

    public static ShardedSafetensors open(Path indexFile) throws IOException {
        // A FIFO reports size 0 and would block the read forever.
        if (Files.exists(indexFile) && !Files.isRegularFile(indexFile)) {
            throw new IOException(indexFile + " is not a regular file (a directory, pipe or device); expected a "
                    + INDEX_NAME);
        }
        long size = Files.size(indexFile);
        if (size > SafetensorsFile.MAX_HEADER_BYTES) {
            throw new IOException(indexFile + ": index of " + size + " bytes exceeds the limit of "
                    + SafetensorsFile.MAX_HEADER_BYTES);
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        Path dir = indexFile.toAbsolutePath().getParent();
        Map<String, SafetensorsFile> byFile = new LinkedHashMap<>();
        Map<String, SafetensorsFile> owner = new LinkedHashMap<>();
        // Streamed, not read as a tree: an index of millions of tiny entries would cost many times its size as one.
        try (JsonParser p = SafetensorsFile.JSON.createParser(Files.readAllBytes(indexFile))) {
            if (p.nextToken() != JsonToken.START_OBJECT) throw new IOException(indexFile + ": index is not a JSON object");
            boolean mapSeen = false;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken value = p.nextToken();
                if (field.equals("weight_map") && value == JsonToken.START_OBJECT) {
                    mapSeen = true;
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String tensor = p.currentName();
                        if (p.nextToken() != JsonToken.VALUE_STRING) {
                            throw new IOException(indexFile + ": weight_map entry for '" + tensor + "' is not a file name");
                        }
                        owner.put(tensor, shard(indexFile, dir, byFile, tensor, p.getText()));
                    }
                } else if (field.equals("metadata") && value == JsonToken.START_OBJECT) {
                    // HF indexes carry numbers here (total_size); keep their text so the map stays string-to-string.
                    for (Map.Entry<String, JsonNode> m : SafetensorsFile.JSON.<JsonNode>readTree(p).properties()) {
                        metadata.put(m.getKey(), m.getValue().isTextual() ? m.getValue().textValue() : m.getValue().toString());
                    }
                } else {
                    p.skipChildren();
                }
            }
            if (p.nextToken() != null) throw new IOException(indexFile + ": index is not well-formed JSON: trailing content");
            if (!mapSeen) throw new IOException(indexFile + ": index has no \"weight_map\" object");
        } catch (JsonProcessingException e) {
            byFile.values().forEach(SafetensorsFile::close);
            throw new IOException(indexFile + ": index is not well-formed JSON: " + e.getOriginalMessage(), e);
        } catch (IOException | RuntimeException e) {
            byFile.values().forEach(SafetensorsFile::close);
            throw e;
        }
        return new ShardedSafetensors(indexFile, owner, new ArrayList<>(byFile.values()), Collections.unmodifiableMap(metadata));
    }

    /** The shard a weight_map entry names, opened (and so validated) the first time it is named. */
    private static SafetensorsFile shard(Path indexFile, Path dir, Map<String, SafetensorsFile> byFile, String tensor,
                                         String file) throws IOException {
        Path shard = dir.resolve(file).normalize();
        // A shard must sit beside its index: a name like "../../etc/x" is refused, not followed.
        if (!dir.normalize().equals(shard.getParent()) || file.contains("/") || file.contains("\\")) {
            throw new IOException(indexFile + ": shard name '" + file + "' for tensor '" + tensor
                    + "' must be a plain file name in the index's directory");
        }
        SafetensorsFile f = byFile.get(file);
        if (f == null) {
            if (!Files.isRegularFile(shard)) {
                throw new IOException(indexFile + ": shard '" + file + "' (named for tensor '" + tensor + "') does not exist");
            }
            f = SafetensorsFile.open(shard);
            byFile.put(file, f);
        }
        if (!f.contains(tensor)) {
            throw new IOException(indexFile + ": index puts tensor '" + tensor + "' in '" + file
                    + "', which does not contain it");
        }
        return f;
    }

    private SafetensorsFile shardOf(String name) {
        SafetensorsFile f = owner.get(name);
        if (f == null) throw new IllegalArgumentException(index + " has no tensor named '" + name + "'");
        return f;
    }

    @Override
    public SequencedSet<String> names() {
        return names;
    }

    @Override
    public TensorInfo info(String name) {
        return shardOf(name).info(name);
    }

    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    @Override
    public double[] readDoubles(String name) {
        return shardOf(name).readDoubles(name);
    }

    @Override
    public float[] readFloats(String name) {
        return shardOf(name).readFloats(name);
    }

    @Override
    public long[] readLongs(String name) {
        return shardOf(name).readLongs(name);
    }

    @Override
    public void close() {
        shards.forEach(SafetensorsFile::close);
    }

    @Override
    public String toString() {
        return "ShardedSafetensors[" + index + ", " + shards.size() + " shards, " + owner.size() + " tensors]";
    }
}

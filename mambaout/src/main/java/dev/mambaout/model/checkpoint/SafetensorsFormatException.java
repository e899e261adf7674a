package dev.mambaout.model.checkpoint;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A file that is not a valid safetensors checkpoint (truncated, corrupt or hostile). The message names the file and
 * the exact rule it breaks, so a user can tell a bad download from a bad writer.
 */
public final class SafetensorsFormatException extends IOException {

    public SafetensorsFormatException(Path file, String problem) {
        super(file + ": not a valid safetensors file: " + problem);
    }

    public SafetensorsFormatException(Path file, String problem, Throwable cause) {
        super(file + ": not a valid safetensors file: " + problem, cause);
    }
}

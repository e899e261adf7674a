package dev.mambaout.model.train;

import java.io.IOException;
import java.nio.file.Path;

/** A dataset file or folder that cannot be used as it is; the message names the path and what is wrong with it. */
public final class DatasetException extends IOException {

    private final Path path;

    public DatasetException(Path path, String problem) {
        super(path + ": " + problem);
        this.path = path;
    }

    public DatasetException(Path path, String problem, Throwable cause) {
        super(path + ": " + problem, cause);
        this.path = path;
    }

    public Path path() { return path; }
}

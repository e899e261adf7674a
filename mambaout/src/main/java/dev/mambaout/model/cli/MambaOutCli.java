package dev.mambaout.model.cli;

import dev.mambaout.natives.Cuda;
import dev.mambaout.natives.CudaDriver;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.util.List;
import java.util.Locale;

/**
 * The {@code mambaout} command: {@code models} lists the variants, {@code run} classifies images (or random inputs)
 * with the CPU executor, {@code train} trains a variant (Fashion-MNIST or an image folder), {@code devices} lists the GPUs the CUDA driver backend sees. Errors end in one line on stderr and exit code 1 (2 for bad usage); {@code --verbose} adds
 * the stack trace.
 */
@Command(name = "mambaout", mixinStandardHelpOptions = true, version = "mambaout 0.1.0",
        description = "MambaOut image classification (timm's mambaout_* models) in Java.",
        subcommands = {ModelsCommand.class, RunCommand.class, TrainCommand.class, ProfileCommand.class, DevicesCommand.class, CommandLine.HelpCommand.class})
public final class MambaOutCli implements Runnable {

    /** Exit status of a command that failed on its input (a file, a checkpoint, a model name). */
    public static final int EXIT_FAILURE = 1;

    @Option(names = {"-v", "--verbose"}, scope = CommandLine.ScopeType.INHERIT,
            description = "Print stack traces of errors.")
    boolean verbose;

    /**
     * Sets {@code mambaout.cuda.backend}, the one switch every layer reads ({@link Cuda#configuredBackend()}), so
     * the flag, the system property and {@code MAMBAOUT_CUDA_BACKEND} choose the same way.
     */
    @Option(names = "--cuda-backend", paramLabel = "panama|jcuda", scope = CommandLine.ScopeType.INHERIT,
            converter = BackendConverter.class, description = "CUDA driver binding: panama (default) or jcuda.")
    void cudaBackend(CudaDriver.Backend backend) {
        System.setProperty(Cuda.BACKEND_PROPERTY, backend.name().toLowerCase(Locale.ROOT));
    }

    /** The same parsing (and message listing the choices) as the property and the environment variable get. */
    static final class BackendConverter implements CommandLine.ITypeConverter<CudaDriver.Backend> {
        @Override
        public CudaDriver.Backend convert(String value) {
            try {
                return Cuda.parseBackend(value, "--cuda-backend");
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        // No subcommand: say what there is rather than silently succeeding.
        throw new CommandLine.ParameterException(spec.commandLine(), "missing command: use 'models', 'run', 'train' or 'devices' (see --help)");
    }

    public static void main(String[] args) {
        System.exit(commandLine(new PrintWriter(System.out, true), new PrintWriter(System.err, true)).execute(args));
    }

    /** A configured command line writing to the given streams (tests capture them). */
    public static CommandLine commandLine(PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new MambaOutCli());
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler(MambaOutCli::handle);
        // --precision f64 as well as F64, as --model and --cuda-backend take any case.
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        return cl;
    }

    private static int handle(Exception e, CommandLine cmd, ParseResult parsed) {
        PrintWriter err = cmd.getErr();
        boolean verbose = verbose(parsed);
        err.println(cmd.getCommandSpec().qualifiedName() + ": " + (verbose ? describe(e) : shorten(describe(e))));
        if (verbose) e.printStackTrace(err);
        else if (!expected(e)) err.println("(run with --verbose for the stack trace)");
        err.flush();
        return EXIT_FAILURE;
    }

    /** Failures caused by what the user passed, whose message says everything; anything else is a bug here. */
    private static boolean expected(Throwable e) {
        return e instanceof IOException || e instanceof UncheckedIOException || e instanceof IllegalArgumentException;
    }

    static String describe(Throwable e) {
        // These carry only the path as their message.
        if (e instanceof NoSuchFileException f) return "no such file: " + f.getFile();
        if (e instanceof AccessDeniedException f) return "permission denied: " + f.getFile();
        String m = e.getMessage();
        if (expected(e) && m != null && !m.isBlank()) return m;
        return "internal error: " + e.getClass().getName() + (m == null ? "" : ": " + m);
    }

    /** Detail lines shown under an error's first line without --verbose. */
    static final int DETAIL_LINES = 8;

    /** Keeps the first line and a few details of a long message (a checkpoint mismatch can list hundreds of keys). */
    static String shorten(String message) {
        List<String> lines = message.lines().toList();
        if (lines.size() <= DETAIL_LINES + 1) return message;
        return String.join("\n", lines.subList(0, DETAIL_LINES + 1)) + "\n  ... " + (lines.size() - DETAIL_LINES - 1)
                + " more lines (--verbose shows all)";
    }

    private static boolean verbose(ParseResult parsed) {
        for (ParseResult p = parsed; p != null; p = p.subcommand()) {
            if (p.hasMatchedOption("--verbose")) return true;
        }
        return false;
    }
}

package dev.mambaout.kernels;

import dev.mambaout.natives.ParamKind;

import java.util.List;

/**
 * One kernel: the fatbin module it lives in, its extern "C" name, and its parameters in order (names for messages,
 * kinds for the parameter block). Mirrors the signature in the .cu file; KernelCatalogTest checks the two agree.
 */
public record KernelSpec(String module, String name, List<Param> params) {

    /** One parameter: its name in the .cu signature and how it is passed. */
    public record Param(String name, ParamKind kind) {}

    public KernelSpec {
        params = List.copyOf(params);
    }

    public List<ParamKind> kinds() { return params.stream().map(Param::kind).toList(); }

    /** "layernorm/layernorm_forward" */
    public String qualifiedName() { return module + "/" + name; }

    /** Throws naming the kernel and the first parameter whose argument is missing, extra or of the wrong kind. */
    public void check(List<? extends KernelArg> args) {
        if (args.size() != params.size()) {
            throw new IllegalArgumentException("kernel " + qualifiedName() + " takes " + params.size()
                    + " arguments " + signature() + " but was given " + args.size());
        }
        for (int i = 0; i < params.size(); i++) {
            KernelArg a = args.get(i);
            if (a == null) {
                throw new IllegalArgumentException("kernel " + qualifiedName() + ": argument " + i + " ("
                        + params.get(i).name() + ") is null");
            }
            checkKind(i, a.kind());
        }
    }

    /** Throws when parameter {@code index} does not exist or is not of {@code kind}. */
    public void checkKind(int index, ParamKind kind) {
        if (index < 0 || index >= params.size()) {
            throw new IllegalArgumentException("kernel " + qualifiedName() + " has no parameter " + index
                    + "; it takes " + params.size() + " " + signature());
        }
        Param p = params.get(index);
        if (p.kind() != kind) {
            throw new IllegalArgumentException("kernel " + qualifiedName() + ": argument " + index + " (" + p.name()
                    + ") must be " + p.kind() + " but was given " + kind);
        }
    }

    /** "(out: PTR, ..., eps: F32)" */
    public String signature() {
        StringBuilder sb = new StringBuilder("(");
        for (int i = 0; i < params.size(); i++) {
            if (i > 0) sb.append(", ");
            sb.append(params.get(i).name()).append(": ").append(params.get(i).kind());
        }
        return sb.append(')').toString();
    }
}

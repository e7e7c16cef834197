package dev.shoal.jobs;

import dev.shoal.driver.registry.Registry;
import dev.shoal.driver.run.RunDirectory;
import dev.shoal.kernel.Checksum;
import dev.shoal.kernel.config.ConfigException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/**
 * A model named on the command line, with the plan.yaml beside it that says its type and data: a run directory,
 * the model.zip in one, or {@code registry:NAME@champion} / {@code registry:NAME@VERSION}, whose files are copied
 * from the registry to a local folder first.
 *
 * @param version what predictions name the model by: NAME@VERSION for a registry version, else sha256:&lt;the
 *                first 12 hex digits of the model.zip's SHA-256&gt;
 */
record SavedModel(Path zip, Path plan, String label, String version) {

    /** The MODEL argument of evaluate, predict and bench-predict, and the registry it may name. */
    static final class Argument {
        @Parameters(index = "0", paramLabel = "MODEL", description = "A run directory, a model.zip in one, or "
                + "registry:NAME@champion|VERSION.")
        String reference;

        @Mixin
        RegistryCommand.Location registry;

        /** The model, its registry files copied into {@code work}. */
        SavedModel find(Path work) {
            return SavedModel.find(reference, registry, work);
        }
    }

    /** The model {@code reference} names; registry versions are copied into {@code work}. */
    static SavedModel find(String reference, RegistryCommand.Location registry, Path work) {
        if (reference.startsWith("registry:")) {
            return fromRegistry(reference, registry.open(), work);
        }
        Path given = Path.of(reference);
        Path zip = Files.isDirectory(given) ? given.resolve(RunDirectory.MODEL) : given;
        if (!Files.isRegularFile(zip)) {
            throw new ConfigException("MODEL", reference, "is neither a run directory with a model.zip, a model.zip "
                    + "nor registry:NAME@champion|VERSION");
        }
        Path plan = zip.toAbsolutePath().resolveSibling(RunDirectory.PLAN);
        if (!Files.isRegularFile(plan)) {
            throw new ConfigException("MODEL", reference, "has no plan.yaml beside it, which says the model type "
                    + "and the data; use a model in its run directory");
        }
        String hash;
        try {
            hash = Checksum.sha256(Files.readAllBytes(zip)).substring(0, 12);
        } catch (IOException e) {
            throw new ConfigException("MODEL", reference, "cannot be read: " + e.getMessage());
        }
        return new SavedModel(zip.toAbsolutePath(), plan, zip.toAbsolutePath().toString(), "sha256:" + hash);
    }

    private static SavedModel fromRegistry(String reference, Registry registry, Path work) {
        String[] parts = reference.substring("registry:".length()).split("@", -1);
        if (parts.length != 2 || !parts[1].matches("champion|[1-9][0-9]*")) {
            throw new ConfigException("MODEL", reference, "must be registry:NAME@champion or registry:NAME@VERSION");
        }
        String name = Registry.requireName(parts[0]);
        int version = parts[1].equals("champion")
                ? registry.champion(name).orElseThrow(() -> new ConfigException("MODEL", reference, name
                        + " has no champion in " + registry.root())).version()
                : Integer.parseInt(parts[1]);
        if (!registry.versions(name).contains(version)) {
            throw new ConfigException("MODEL", reference, name + " has no complete version " + version + " in "
                    + registry.root());
        }
        for (String file : List.of(RunDirectory.MODEL, RunDirectory.PLAN, RunDirectory.VOCABULARY,
                RunDirectory.ALPHABET)) {
            if (registry.exists(name, version, file)) {
                registry.copyToLocal(name, version, file, work.resolve(file));
            }
        }
        return new SavedModel(work.resolve(RunDirectory.MODEL), work.resolve(RunDirectory.PLAN),
                reference + " (version " + version + ", " + registry.versionUri(name, version) + ")",
                name + "@" + version);
    }
}

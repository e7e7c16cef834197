package dev.shoal.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shoal.driver.registry.Registry;
import dev.shoal.kernel.config.ConfigException;
import dev.shoal.kernel.config.UserFacingException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code shoal registry list|show|promote|rollback|gc}: look at and manage the model registry by hand. */
@Command(name = "registry", mixinStandardHelpOptions = true,
        description = "Look at the model registry (versions with their figures, verdicts and provenance, the "
                + "champion's history) and manage it by hand (promote, roll back, collect old versions).",
        subcommands = {RegistryCommand.ListVersions.class, RegistryCommand.Show.class, RegistryCommand.Promote.class,
            RegistryCommand.Rollback.class, RegistryCommand.Gc.class})
final class RegistryCommand implements Runnable {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "Missing subcommand: list, show, promote, rollback or gc");
    }

    /** The registry's location, from --registry or SHOAL_REGISTRY. */
    static final class Location {
        @Option(names = "--registry", paramLabel = "URI", defaultValue = "${env:SHOAL_REGISTRY}",
                description = "The registry's folder on any Hadoop file system (a local path, hdfs://..., "
                        + "s3a://...); default: $SHOAL_REGISTRY.")
        String uri;

        Registry open() {
            if (uri == null || uri.isBlank()) {
                throw new ConfigException("--registry", "(missing)", "give the registry's folder, or set "
                        + "SHOAL_REGISTRY");
            }
            return new Registry(uri);
        }
    }

    /** The registry and a model's name in it: the first argument of show, promote, rollback and gc. */
    static final class Named {
        @Mixin
        Location location;

        @Parameters(index = "0", paramLabel = "NAME", description = "The model's name in the registry.")
        String name;
    }

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = "The registered versions of every model (or of NAME): figures, verdict, champion.")
    static final class ListVersions implements Callable<Integer> {
        @Mixin
        Location location;

        @Parameters(index = "0", arity = "0..1", paramLabel = "NAME", description = "Only this model.")
        String name;

        @Override
        public Integer call() {
            Registry registry = location.open();
            List<String> names = name != null ? List.of(Registry.requireName(name)) : registry.names();
            for (String n : names) {
                int champion = registry.champion(n).map(Registry.Promotion::version).orElse(0);
                System.out.println(n + " (" + registry.root() + "/" + n + ")");
                System.out.printf("  %7s  %-20s  %9s  %8s  %s%n", "version", "registered", "accuracy", "loss", "gate");
                for (int v : registry.versions(n)) {
                    JsonNode evaluation = json(registry, n, v, "evaluation.json");
                    JsonNode verdict = json(registry, n, v, "verdict.json");
                    JsonNode provenance = json(registry, n, v, Registry.PROVENANCE);
                    String line = String.format(Locale.ROOT, "  %7d  %-20s  %9s  %8s  %-6s  %s", v,
                            provenance.path("registeredAt").asText("?").replaceFirst("\\.[0-9]+Z$", "Z"),
                            evaluation.has("accuracy") ? String.format(Locale.ROOT, "%.2f%%",
                                    100 * evaluation.get("accuracy").asDouble()) : "-",
                            evaluation.has("loss") ? String.format(Locale.ROOT, "%.4f",
                                    evaluation.get("loss").asDouble()) : "-",
                            !verdict.has("promote") ? "-" : verdict.get("promote").asBoolean() ? "passed"
                                    : "failed",
                            v == champion ? "<- champion" : "");
                    System.out.println(line.stripTrailing());
                }
            }
            return 0;
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true,
            description = "One version (default: the champion): its verdict with every rule, its figures and "
                    + "provenance; and the champion's history.")
    static final class Show implements Callable<Integer> {
        @Mixin
        Named model;

        @Parameters(index = "1", arity = "0..1", paramLabel = "VERSION", description = "The version to show "
                + "(default: the champion).")
        Integer version;

        @Override
        public Integer call() {
            String name = model.name;
            Registry registry = model.location.open();
            Optional<Registry.Promotion> champion = registry.champion(name);
            int v = version != null ? version : champion.map(Registry.Promotion::version).orElseThrow(() ->
                    new UserFacingException(name + " has no champion in " + registry.root()
                            + "; name a version"));
            registry.requireVersion(name, v, "VERSION");
            System.out.println(name + " version " + v + ": " + registry.versionUri(name, v));
            JsonNode provenance = json(registry, name, v, Registry.PROVENANCE);
            System.out.println("  registered  " + provenance.path("registeredAt").asText("?") + " from run "
                    + provenance.path("run").path("runId").asText("?") + " (" + provenance.path("runDirectory")
                    .asText("?") + ")");
            System.out.println("  judged against champion " + provenance.path("judgedAgainst").asText("none")
                    + ", warm-started from " + provenance.path("warmStartedFrom").asText("none"));
            JsonNode evaluation = json(registry, name, v, "evaluation.json");
            System.out.printf(Locale.ROOT, "  evaluation  %d examples, accuracy %.4f, loss %.4f on %s%n",
                    evaluation.path("examples").asLong(), evaluation.path("accuracy").asDouble(Double.NaN),
                    evaluation.path("loss").asDouble(Double.NaN), evaluation.path("data").asText("?"));
            JsonNode verdict = json(registry, name, v, "verdict.json");
            System.out.println("  gate        " + (verdict.path("promote").asBoolean() ? "passed: " : "")
                    + verdict.path("reason").asText("?"));
            for (JsonNode check : verdict.path("checks")) {
                System.out.println("              " + check.path("outcome").asText() + " " + check.path("reason")
                        .asText());
            }
            System.out.println("champion history of " + name + ":");
            for (Registry.Promotion p : registry.history(name)) {
                System.out.printf("  %3d  %s  version %d (was %s): %s%n", p.sequence(), p.at(), p.version(),
                        p.previous() == 0 ? "none" : "version " + p.previous(), p.reason());
            }
            return 0;
        }
    }

    @Command(name = "promote", mixinStandardHelpOptions = true,
            description = "Make VERSION the champion of NAME by hand, whatever its verdict. Exit 4 if another "
                    + "promotion came first.")
    static final class Promote implements Callable<Integer> {
        @Mixin
        Named model;

        @Parameters(index = "1", paramLabel = "VERSION", description = "The version to make champion.")
        int version;

        @Override
        public Integer call() {
            String name = model.name;
            Registry registry = model.location.open();
            long expected = registry.champion(name).map(Registry.Promotion::sequence).orElse(0L);
            if (!registry.promote(name, version, expected, "promoted by hand")) {
                System.err.println("error: the champion of " + name + " moved meanwhile; look again with "
                        + "'shoal registry show " + name + "'");
                return Challenge.LOST_RACE;
            }
            System.out.printf("version %d is now the champion of %s%n", version, name);
            return 0;
        }
    }

    @Command(name = "rollback", mixinStandardHelpOptions = true,
            description = "Make the champion before the current one champion again; a second rollback undoes the "
                    + "first.")
    static final class Rollback implements Callable<Integer> {
        @Mixin
        Named model;

        @Override
        public Integer call() {
            String name = model.name;
            Optional<Registry.Promotion> now = model.location.open().rollback(name);
            if (now.isEmpty()) {
                System.err.println("error: the champion of " + name + " moved during the rollback; look again with "
                        + "'shoal registry show " + name + "'");
                return Challenge.LOST_RACE;
            }
            System.out.printf("version %d is the champion of %s again (was version %d)%n", now.get().version(), name,
                    now.get().previous());
            return 0;
        }
    }

    @Command(name = "gc", mixinStandardHelpOptions = true,
            description = "Delete old versions of NAME, keeping the newest --keep, the champion and the one before "
                    + "it, and the debris of registrations that crashed (versions without provenance.json).")
    static final class Gc implements Callable<Integer> {
        @Mixin
        Named model;

        @Option(names = "--keep", defaultValue = "5", paramLabel = "N",
                description = "How many of the newest versions to keep, at least 1 (default: ${DEFAULT-VALUE}).")
        int keep;

        @Option(names = "--debris-age", defaultValue = "60", paramLabel = "MINUTES",
                description = "Remove an unfinished version only once untouched this long: a younger one may be a "
                        + "registration in progress (default: ${DEFAULT-VALUE}).")
        long debrisMinutes;

        @Override
        public Integer call() {
            String name = model.name;
            if (debrisMinutes < 0) {
                throw new ConfigException("--debris-age", debrisMinutes, "must be at least 0");
            }
            Registry.Collected collected = model.location.open().gc(name, keep, Duration.ofMinutes(debrisMinutes));
            System.out.printf("removed %d version(s) %s and %d unfinished registration(s)%s%n",
                    collected.versions().size(), collected.versions(), collected.debris().size(),
                    collected.debris().isEmpty() ? "" : " " + collected.debris());
            return 0;
        }
    }

    /** A JSON file of a version, or an empty object when it has none. */
    private static JsonNode json(Registry registry, String name, int version, String file) {
        try {
            return JSON.readTree(registry.read(name, version, file).orElse("{}"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + registry.versionUri(name, version) + "/" + file + ": "
                    + e.getMessage(), e);
        }
    }
}

package dev.shoal.jobs;

import dev.shoal.driver.data.DataFormatException;
import dev.shoal.driver.train.TrainingDivergedException;
import dev.shoal.kernel.config.ConfigException;
import dev.shoal.kernel.config.UserFacingException;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The one entry point: {@code scripts/shoal <command>} or
 * {@code spark-submit --class dev.shoal.jobs.Shoal shoal-jobs-cluster.jar <command>}.
 *
 * <p>Exit codes: 0 success, 1 the run failed, 2 the job file or command line is wrong; retrain adds 3 (registered,
 * not promoted: the gate failed) and 4 (passed the gate, but another version became champion first).
 */
@Command(name = "shoal", mixinStandardHelpOptions = true, versionProvider = Shoal.Version.class,
        description = "Data-parallel deep-learning training on Apache Spark.",
        subcommands = {TrainCommand.class, EvaluateCommand.class, PredictCommand.class, RetrainCommand.class,
            RegistryCommand.class, BenchCommand.class, BenchKernelCommand.class, BenchPredictCommand.class,
            BenchMlCommand.class, BenchLoadCommand.class, BenchLoadCommand.Run.class, BenchSystemCommand.class,
            KeysCommand.class, SampleCommand.class, ReportCommand.class, TuneCommand.class, ScalingCommand.class,
            CommandLine.HelpCommand.class})
public final class Shoal {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs a command line and returns its exit code. */
    public static int run(String... args) {
        CommandLine cli = new CommandLine(new Shoal());
        cli.setExecutionExceptionHandler((e, line, parsed) -> report(e, line));
        if (args.length > 0 && !args[0].startsWith("-") && !cli.getSubcommands().containsKey(args[0])) {
            // Left to picocli, "shoal tune --help" prints the root help and exits 0: a script probing for a
            // command would get a false yes. An unknown command is a usage error whatever follows it.
            return unknownCommand(cli, args);
        }
        return cli.execute(args);
    }

    private static int unknownCommand(CommandLine cli, String... args) {
        try {
            return cli.getParameterExceptionHandler().handleParseException(
                    new CommandLine.UnmatchedArgumentException(cli, List.of(args[0])), args);
        } catch (Exception e) {
            cli.getErr().println("error: unknown command " + args[0]);
            return 2;
        }
    }

    private static int report(Exception e, CommandLine line) {
        Throwable cause = userFacingCause(e);
        if (cause instanceof ConfigException) {
            line.getErr().println("error: " + cause.getMessage());
            return 2;
        }
        if (cause != null) {
            line.getErr().println("error: " + cause.getMessage());
            return 1;
        }
        line.getErr().println("error: " + e);
        e.printStackTrace(line.getErr());
        return 1;
    }

    /**
     * The command line that runs {@code shoal args...} in a new JVM with this JVM's flags (its class-data archive
     * too) and classpath.
     */
    static List<String> inNewJvm(String... args) {
        return inNewJvm(List.of(), args);
    }

    /** As {@link #inNewJvm(String...)}, with {@code heap} (unless empty) instead of this JVM's heap options. */
    static List<String> inNewJvm(List<String> heap, String... args) {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        for (String option : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            boolean heapOption = option.startsWith("-Xms") || option.startsWith("-Xmx")
                    || option.equals("-XX:+AlwaysPreTouch");
            // Only the JVM scripts/shoal started writes the class-data archive (it renames the file when done).
            boolean archiveWriter = option.startsWith("-XX:ArchiveClassesAtExit")
                    || option.startsWith("-Dshoal.class-archive.writing");
            if ((heap.isEmpty() || !heapOption) && !archiveWriter) {
                command.add(option);
            }
        }
        command.addAll(heap);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(Shoal.class.getName());
        command.addAll(List.of(args));
        return command;
    }

    /** The first cause a user can act on, unwrapped from Spark's job-failure wrappers. */
    static Throwable userFacingCause(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ConfigException || t instanceof DataFormatException
                    || t instanceof TrainingDivergedException || t instanceof UserFacingException
                    || t instanceof java.io.UncheckedIOException) {
                return t;
            }
        }
        return null;
    }

    /** Reports the version from the jar's Maven metadata. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Shoal.class.getPackage().getImplementationVersion();
            return new String[] {"shoal " + (v == null ? "(development build)" : v)};
        }
    }
}

package dev.shoal.driver.registry;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.shoal.driver.run.HadoopFolder;
import dev.shoal.kernel.config.ConfigException;
import dev.shoal.kernel.config.UserFacingException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Named models and which version of each is current, as plain files on any Hadoop file system:
 * <pre>
 * &lt;registry&gt;/&lt;name&gt;/versions/&lt;n&gt;/          model.zip, plan.yaml, ..., provenance.json (written last)
 * &lt;registry&gt;/&lt;name&gt;/aliases/champion/&lt;seq&gt;.json  one file per move of the champion, never changed
 * </pre>
 * A version is complete once its provenance.json is there; one without it is a registration in progress or the
 * debris of one that crashed, and is not listed ({@link #gc} removes it once it is old enough). Version numbers
 * are claimed, and the champion is moved, by creating a file that must not exist yet ({@link
 * HadoopFolder#writeIfAbsent}): the champion is the promotion with the highest sequence number, and a promotion
 * names the sequence number it replaces, so it is a compare-and-set. Of two writers that read the same champion,
 * exactly one moves it; the other learns that it lost. Nothing is ever rewritten in place, so a crash at any point
 * leaves either the state before or the state after.
 */
public final class Registry {
    public static final String PROVENANCE = "provenance.json";
    private static final String CLAIM = "_claim";
    private static final String NAME = "[A-Za-z0-9][A-Za-z0-9._-]*";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final String root;

    public Registry(String root) {
        this.root = root.replaceAll("/+$", "");
    }

    /**
     * One move of the champion alias.
     *
     * @param previous the champion it replaced, 0 for none
     */
    public record Promotion(long sequence, int version, int previous, String at, String reason) {
    }

    /** What {@link #gc} removed. */
    public record Collected(List<Integer> versions, List<String> debris) {
    }

    public String root() {
        return root;
    }

    /** The folder of version {@code version} of {@code name}. */
    public String versionUri(String name, int version) {
        return root + "/" + requireName(name) + "/versions/" + version;
    }

    /** The complete versions of {@code name}, oldest first. */
    public List<Integer> versions(String name) {
        return call(fs -> {
            List<Integer> complete = new ArrayList<>();
            for (int n : allVersions(fs, name)) {
                if (fs.exists(new Path(versionUri(name, n), PROVENANCE))) {
                    complete.add(n);
                }
            }
            return complete;
        });
    }

    /** Every move of {@code name}'s champion, oldest first. */
    public List<Promotion> history(String name) {
        return call(fs -> {
            Path aliases = championFolder(name);
            if (!fs.exists(aliases)) {
                return List.of();
            }
            List<Promotion> history = new ArrayList<>();
            for (FileStatus f : fs.listStatus(aliases)) {
                if (!HadoopFolder.isTemporary(f.getPath().getName())) {
                    history.add(readPromotion(fs, f.getPath()));
                }
            }
            history.sort(Comparator.comparingLong(Promotion::sequence));
            return history;
        });
    }

    /** The current champion of {@code name}, if it has one. */
    public Optional<Promotion> champion(String name) {
        List<Promotion> history = history(name);
        return history.isEmpty() ? Optional.empty() : Optional.of(history.get(history.size() - 1));
    }

    /**
     * Registers a new version of {@code name}: claims the next number, copies {@code files} (name in the version
     * -> local file) into it, each whole or not at all, then writes {@code provenance} as provenance.json, which
     * completes it. Returns its number.
     */
    public int register(String name, Map<String, java.nio.file.Path> files, Object provenance) {
        return call(fs -> {
            int number = claim(fs, name);
            HadoopFolder version = new HadoopFolder(versionUri(name, number));
            for (Map.Entry<String, java.nio.file.Path> file : files.entrySet()) {
                version.writeAtomically(fs, file.getKey(), out -> Files.copy(file.getValue(), out));
            }
            byte[] json = JSON.writeValueAsBytes(provenance);
            version.writeAtomically(fs, PROVENANCE, out -> out.write(json));
            return number;
        });
    }

    /**
     * Makes {@code version} the champion of {@code name} if the champion is still the one of promotion
     * {@code expected} (0: there was none). Returns false, changing nothing, when another promotion came first.
     */
    public boolean promote(String name, int version, long expected, String reason) {
        requireVersion(name, version, "version");
        return call(fs -> {
            int previous = expected == 0 ? 0 : readPromotion(fs, promotionPath(name, expected)).version();
            Promotion promotion = new Promotion(expected + 1, version, previous, Instant.now().toString(), reason);
            return new HadoopFolder(championFolder(name).toString())
                    .writeIfAbsent(fs, promotionPath(name, expected + 1).getName(), JSON.writeValueAsBytes(promotion));
        });
    }

    /**
     * Makes the champion before the current one champion again (the current promotion's {@code previous}); it is
     * itself a promotion, so a second rollback undoes the first. Fails if there is no earlier champion; empty when
     * another promotion came first.
     */
    public Optional<Promotion> rollback(String name) {
        Promotion current = champion(name).orElseThrow(() ->
                new UserFacingException(name + " has no champion in " + root + "; nothing to roll back"));
        if (current.previous() == 0) {
            throw new UserFacingException("version " + current.version() + " is " + name + "'s first champion; "
                    + "there is none before it to roll back to");
        }
        if (!promote(name, current.previous(), current.sequence(), "rollback from version " + current.version())) {
            return Optional.empty();
        }
        return champion(name);
    }

    /**
     * Removes the complete versions of {@code name} older than the newest {@code keep}, except the champion and the
     * one before it (a rollback's target), and the debris of registrations that stopped before completing, once
     * untouched for {@code debrisAge} (younger ones may be in progress). The champion is read again before each
     * deletion; a promotion by hand of an old version while gc runs can still lose its version, so do not run the
     * two at once.
     */
    public Collected gc(String name, int keep, Duration debrisAge) {
        if (keep < 1) {
            throw new ConfigException("--keep", keep, "must be at least 1: the newest version is never deleted "
                    + "(its number would be given again)");
        }
        List<Integer> complete = versions(name);
        return call(fs -> {
            List<Integer> removed = new ArrayList<>();
            for (int i = 0; i < complete.size() - keep; i++) {
                int n = complete.get(i);
                Set<Integer> protectedVersions = new TreeSet<>();
                champion(name).ifPresent(c -> {
                    protectedVersions.add(c.version());
                    protectedVersions.add(c.previous());
                });
                if (!protectedVersions.contains(n)) {
                    fs.delete(new Path(versionUri(name, n)), true);
                    removed.add(n);
                }
            }
            List<String> debris = new ArrayList<>();
            Instant cutOff = Instant.now().minus(debrisAge);
            for (int n : allVersions(fs, name)) {
                Path folder = new Path(versionUri(name, n));
                if (!complete.contains(n) && lastChange(fs, folder).isBefore(cutOff)) {
                    fs.delete(folder, true);
                    debris.add(folder.toString());
                }
            }
            Path aliases = championFolder(name);
            if (fs.exists(aliases)) {
                for (FileStatus f : fs.listStatus(aliases)) {
                    if (HadoopFolder.isTemporary(f.getPath().getName())
                            && Instant.ofEpochMilli(f.getModificationTime()).isBefore(cutOff)) {
                        fs.delete(f.getPath(), false);
                        debris.add(f.getPath().toString());
                    }
                }
            }
            return new Collected(removed, debris);
        });
    }

    /**
     * Fails, naming {@code key} (where the number came from: a command-line argument), unless {@code name} has a
     * complete version {@code version}.
     */
    public void requireVersion(String name, int version, String key) {
        if (!versions(name).contains(version)) {
            throw new ConfigException(key, version, name + " has no complete version " + version + " in " + root);
        }
    }

    /** Whether version {@code version} of {@code name} has {@code file}. */
    public boolean exists(String name, int version, String file) {
        return call(fs -> fs.exists(new Path(versionUri(name, version), file)));
    }

    /** A file of a complete version, as text, or empty when the version has no such file. */
    public Optional<String> read(String name, int version, String file) {
        return call(fs -> {
            Path path = new Path(versionUri(name, version), file);
            if (!fs.exists(path)) {
                return Optional.empty();
            }
            try (InputStream in = fs.open(path)) {
                return Optional.of(new String(in.readAllBytes(), StandardCharsets.UTF_8));
            }
        });
    }

    /** Copies a file of a version to {@code target} on the local disk. */
    public void copyToLocal(String name, int version, String file, java.nio.file.Path target) {
        call(fs -> {
            try (InputStream in = fs.open(new Path(versionUri(name, version), file))) {
                Files.copy(in, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
            return null;
        });
    }

    /** The names the registry holds. */
    public List<String> names() {
        return call(fs -> {
            Path folder = new Path(root);
            if (!fs.exists(folder)) {
                return List.of();
            }
            List<String> names = new ArrayList<>();
            for (FileStatus f : fs.listStatus(folder)) {
                if (f.isDirectory() && f.getPath().getName().matches(NAME)) {
                    names.add(f.getPath().getName());
                }
            }
            names.sort(null);
            return names;
        });
    }

    /** A model name names folders: letters, digits, '.', '_' and '-'. */
    public static String requireName(String name) {
        if (!name.matches(NAME)) {
            throw new ConfigException("name", "'" + name + "'", "must be letters, digits, '.', '_' or '-' (it "
                    + "names the model's folder in the registry)");
        }
        return name;
    }

    private Path championFolder(String name) {
        return new Path(root + "/" + requireName(name) + "/aliases/champion");
    }

    private Path promotionPath(String name, long sequence) {
        return new Path(championFolder(name), String.format("%08d.json", sequence));
    }

    /** Claims the next free version number by creating its claim file, which only one writer can. */
    private int claim(FileSystem fs, String name) throws IOException {
        List<Integer> existing = allVersions(fs, name);
        int number = existing.isEmpty() ? 1 : existing.get(existing.size() - 1) + 1;
        byte[] who = (ProcessHandle.current().pid() + " " + Instant.now()).getBytes(StandardCharsets.UTF_8);
        while (!new HadoopFolder(versionUri(name, number)).writeIfAbsent(fs, CLAIM, who)) {
            number++;
        }
        return number;
    }

    /** The numbers of every version folder, complete or not, in order. */
    private List<Integer> allVersions(FileSystem fs, String name) throws IOException {
        Path folder = new Path(root + "/" + requireName(name) + "/versions");
        if (!fs.exists(folder)) {
            return List.of();
        }
        List<Integer> numbers = new ArrayList<>();
        for (FileStatus f : fs.listStatus(folder)) {
            if (f.isDirectory() && f.getPath().getName().matches("[1-9][0-9]*")) {
                numbers.add(Integer.parseInt(f.getPath().getName()));
            }
        }
        numbers.sort(null);
        return numbers;
    }

    private static Instant lastChange(FileSystem fs, Path folder) throws IOException {
        long newest = fs.getFileStatus(folder).getModificationTime();
        for (FileStatus f : fs.listStatus(folder)) {
            newest = Math.max(newest, f.getModificationTime());
        }
        return Instant.ofEpochMilli(newest);
    }

    private Promotion readPromotion(FileSystem fs, Path file) throws IOException {
        try (InputStream in = fs.open(file)) {
            Promotion p = JSON.readValue(in, Promotion.class);
            if (!file.getName().equals(String.format("%08d.json", p.sequence())) || p.version() < 1) {
                throw new IOException("its sequence number or version does not match its name");
            }
            return p;
        } catch (IOException e) {
            throw new UserFacingException("the registry's champion record " + file + " cannot be read: "
                    + HadoopFolder.reason(e) + "; restore or remove it by hand", e);
        }
    }

    /** Runs {@code action} with a file system of the registry's own, and names the registry in any failure. */
    private <T> T call(FsAction<T> action) {
        HadoopFolder folder = new HadoopFolder(root);
        try (FileSystem fs = folder.open()) {
            Path path = new Path(root);
            if (fs.exists(path) && !fs.getFileStatus(path).isDirectory()) {
                throw new UserFacingException("registry " + root + " is a file, not a folder");
            }
            return action.apply(fs);
        } catch (IOException e) {
            throw new UncheckedIOException("registry " + root + ": " + HadoopFolder.reason(e), e);
        }
    }

    @FunctionalInterface
    private interface FsAction<T> {
        T apply(FileSystem fs) throws IOException;
    }
}

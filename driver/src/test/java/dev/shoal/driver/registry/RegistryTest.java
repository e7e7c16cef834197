package dev.shoal.driver.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.driver.testing.RegistryRace;
import dev.shoal.kernel.config.ConfigException;
import dev.shoal.kernel.config.UserFacingException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The registry on a local disk: versions, the champion as a compare-and-set, rollback, gc. */
class RegistryTest {
    @TempDir
    Path dir;

    private static int register(Registry registry, String name, String content) throws IOException {
        return RegistryRace.register(registry, name, content);
    }

    @Test
    void versionsAreNumberedInOrderAndCompleteOnlyWithProvenance() throws IOException {
        Registry registry = new Registry(dir.resolve("registry").toString());
        assertEquals(List.of(), registry.versions("fashion"), "a registry that does not exist yet is empty");
        assertEquals(1, register(registry, "fashion", "one"));
        assertEquals(2, register(registry, "fashion", "two"));
        // A registration that stopped before its provenance.json: claimed, half written, not a version.
        Path stopped = Files.createDirectories(dir.resolve("registry/fashion/versions/3"));
        Files.writeString(stopped.resolve("_claim"), "1234");
        Files.writeString(stopped.resolve("model.zip"), "partial");

        assertEquals(List.of(1, 2), registry.versions("fashion"));
        assertEquals(List.of("fashion"), registry.names());
        assertEquals("two", registry.read("fashion", 2, "model.zip").orElseThrow());
        assertTrue(registry.read("fashion", 2, Registry.PROVENANCE).orElseThrow().contains("\"content\" : \"two\""));
        assertEquals(4, register(registry, "fashion", "four"), "the debris's number is not reused");
    }

    @Test
    void aPromotionIsACompareAndSetOnTheChampionItReplaces() throws IOException {
        Registry registry = new Registry(dir.toString());
        register(registry, "m", "one");
        register(registry, "m", "two");
        assertTrue(registry.champion("m").isEmpty());

        assertTrue(registry.promote("m", 1, 0, "first"));
        assertFalse(registry.promote("m", 2, 0, "read before the first promotion"), "a stale expectation loses");
        assertEquals(1, registry.champion("m").orElseThrow().version());
        assertTrue(registry.promote("m", 2, 1, "better"));
        Registry.Promotion champion = registry.champion("m").orElseThrow();
        assertEquals(List.of(2L, 2, 1, "better"),
                List.of(champion.sequence(), champion.version(), champion.previous(), champion.reason()));
        assertEquals("version = 7: m has no complete version 7 in " + dir, assertThrows(ConfigException.class,
                () -> registry.promote("m", 7, 2, "no such version")).getMessage());
    }

    @Test
    void ofManyWritersPromotingAtOnceExactlyOneWins() throws Exception {
        Registry registry = new Registry(dir.toString());
        List<Integer> winners = RegistryRace.run(registry, "race", 8);
        assertEquals(1, winners.size(), "winners: " + winners);
        assertEquals(List.of(1, 2, 3, 4, 5, 6, 7, 8), registry.versions("race"), "every version registered whole");
        assertEquals(1, registry.history("race").size());
        assertEquals(winners.get(0), registry.champion("race").orElseThrow().version());
        for (int v = 1; v <= 8; v++) {
            assertTrue(registry.read("race", v, "model.zip").orElseThrow().startsWith("writer "));
        }
    }

    @Test
    void rollbackPromotesTheChampionBeforeAndASecondOneUndoesIt() throws IOException {
        Registry registry = new Registry(dir.toString());
        register(registry, "m", "one");
        assertTrue(registry.promote("m", 1, 0, "first"));
        assertEquals("version 1 is m's first champion; there is none before it to roll back to",
                assertThrows(UserFacingException.class, () -> registry.rollback("m")).getMessage());
        register(registry, "m", "two");
        assertTrue(registry.promote("m", 2, 1, "better"));

        assertEquals(1, registry.rollback("m").orElseThrow().version());
        assertEquals("rollback from version 2", registry.champion("m").orElseThrow().reason());
        assertEquals(2, registry.rollback("m").orElseThrow().version());
        assertEquals(4, registry.history("m").size());
    }

    @Test
    void gcKeepsTheNewestTheChampionAndTheOneBeforeAndRemovesOldDebris() throws IOException {
        Registry registry = new Registry(dir.toString());
        for (int v = 1; v <= 5; v++) {
            register(registry, "m", "v" + v);
        }
        assertTrue(registry.promote("m", 2, 0, "first"));
        assertTrue(registry.promote("m", 3, 1, "better"));
        Path debris = Files.createDirectories(dir.resolve("m/versions/6"));
        Files.writeString(debris.resolve("_claim"), "crashed");

        Registry.Collected young = registry.gc("m", 1, Duration.ofHours(1));
        assertEquals(List.of(1, 4), young.versions(), "champion 3, its predecessor 2 and the newest, 5, stay");
        assertEquals(List.of(), young.debris(), "debris younger than the age may be a registration in progress");
        assertTrue(Files.exists(debris));

        Registry.Collected old = registry.gc("m", 1, Duration.ZERO);
        assertEquals(List.of(), old.versions());
        assertEquals(1, old.debris().size());
        assertFalse(Files.exists(debris));
        assertEquals(List.of(2, 3, 5), registry.versions("m"));
        assertThrows(ConfigException.class, () -> registry.gc("m", 0, Duration.ZERO), "the newest is always kept");
    }

    @Test
    void aRegistryThatIsAFileAndADamagedChampionRecordAreNamed() throws IOException {
        Path file = Files.writeString(dir.resolve("file"), "x");
        assertEquals("registry " + file + " is a file, not a folder",
                assertThrows(UserFacingException.class, () -> new Registry(file.toString()).versions("m"))
                        .getMessage());

        Registry registry = new Registry(dir.resolve("r").toString());
        register(registry, "m", "one");
        assertTrue(registry.promote("m", 1, 0, "first"));
        Path record = dir.resolve("r/m/aliases/champion/00000001.json");
        Files.writeString(record, "{\"sequence\": 1, \"vers");
        String message = assertThrows(UserFacingException.class, () -> registry.champion("m")).getMessage();
        assertTrue(message.startsWith("the registry's champion record file:" + record + " cannot be read: "),
                message);
        assertEquals("name = 'a/b': must be letters, digits, '.', '_' or '-' (it names the model's folder in the "
                + "registry)", assertThrows(RuntimeException.class, () -> registry.versions("a/b")).getMessage());
    }
}

package dev.shoal.driver.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.driver.testing.SparkFixture;
import dev.shoal.kernel.ExampleBlock;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** A plain text into windows of character ids: the alphabet, the split, the blocks, and non-UTF-8 input. */
class CharDataSourceTest {
    @RegisterExtension
    static final SparkFixture SPARK = new SparkFixture();

    @TempDir
    Path dir;

    @Test
    void theTextIsCutIntoOverlappingWindowsThatEveryBlockHoldsOnce() throws IOException {
        // 41 characters, windows of 4 + 1: ten windows, each starting where the last one's inputs ended.
        String text = "Call me Ishmael. Some years ago, never mi";
        Path file = Files.writeString(dir.resolve("moby.txt"), text);
        CharDataSource.Pair pair = CharDataSource.split(file.toString(), null, 0.2, 0, 4, 7);
        assertEquals(10, pair.train().slots().records(), "windows");
        assertEquals(8, pair.train().examples());
        assertEquals(2, pair.test().examples());
        assertEquals(5, pair.train().featureSize());
        assertEquals(4, pair.train().inputShape().width());

        List<String> seen = new ArrayList<>();
        for (CharDataSource source : List.of(pair.train(), pair.test())) {
            for (ExampleBlock b : source.load(SPARK.sc(), 2, 3).collect()) {
                assertEquals(source.alphabet().size(), b.numClasses());
                for (int r = 0; r < b.size(); r++) {
                    StringBuilder window = new StringBuilder();
                    for (int t = 0; t < 5; t++) {
                        window.append(source.alphabet().character((int) b.feature(r * 5 + t)));
                    }
                    seen.add(window.toString());
                }
            }
        }
        List<String> expected = new ArrayList<>();
        for (int w = 0; w < 10; w++) {
            expected.add(text.substring(w * 4, w * 4 + 5));
        }
        // Test windows may hold characters that no training window has: those read as the unknown "?".
        assertEquals(expected.size(), seen.size());
        for (String window : seen) {
            assertTrue(expected.stream().anyMatch(e -> matches(e, window)), window + " is not a window of the text");
        }
    }

    private static boolean matches(String expected, String seen) {
        for (int i = 0; i < expected.length(); i++) {
            if (seen.charAt(i) != '?' && seen.charAt(i) != expected.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    @Test
    void theAlphabetComesFromTheTrainingWindowsAndRoundTripsThroughItsFile() throws IOException {
        Path file = Files.writeString(dir.resolve("t.txt"), "abab\nabab\u00e9\u00e9");
        Alphabet alphabet = CharDataSource.split(file.toString(), null, 0, 0, 5, 1).train().alphabet();
        assertEquals(1 + 4, alphabet.size(), "unknown, newline, a, b, e-acute");
        assertEquals("\u00e9", alphabet.character(alphabet.id('\u00e9')));
        assertEquals(Alphabet.UNKNOWN, alphabet.id('z'));
        Path saved = dir.resolve("alphabet.json");
        alphabet.write(saved);
        Alphabet read = Alphabet.read(saved);
        assertEquals(alphabet.size(), read.size());
        assertEquals(alphabet.id('\n'), read.id('\n'));
    }

    @Test
    void bytesThatAreNotUtf8AndTextsTooShortAreNamed() throws IOException {
        Path latin1 = dir.resolve("latin1.txt");
        Files.write(latin1, "na\u00efve text".getBytes(StandardCharsets.ISO_8859_1));
        DataFormatException e = assertThrows(DataFormatException.class,
                () -> CharDataSource.split(latin1.toString(), null, 0.5, 0, 3, 1));
        assertEquals(latin1 + ": not UTF-8 text: byte 0xef at offset 2", e.getMessage());
        Path tiny = Files.writeString(dir.resolve("tiny.txt"), "abc");
        assertEquals(tiny + ": 3 characters do not make one example of 11 (data.max-length + 1)",
                assertThrows(DataFormatException.class,
                        () -> CharDataSource.split(tiny.toString(), null, 0.5, 0, 10, 1)).getMessage());
    }
}

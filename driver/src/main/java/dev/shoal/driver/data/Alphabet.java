package dev.shoal.driver.data;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Characters (Unicode code points) to token ids for character-level models, built on the driver from the
 * training text and saved next to the model ({@code alphabet.json}, a JSON array of one-character strings) so
 * that {@code shoal sample} reads and writes the same ids. Id 0 stands for every character the training text
 * does not have; the characters follow from id 1 in code-point order.
 */
public final class Alphabet implements Serializable {
    public static final int UNKNOWN = 0;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The characters, sorted; character {@code i} has id {@code i + 1}. */
    private final int[] codePoints;

    private Alphabet(int[] codePoints) {
        this.codePoints = codePoints;
    }

    /** The distinct characters among {@code codePoints}. */
    public static Alphabet of(IntStream codePoints) {
        return new Alphabet(codePoints.distinct().sorted().toArray());
    }

    public static Alphabet read(Path file) throws IOException {
        List<String> chars = JSON.readValue(file.toFile(), new TypeReference<List<String>>() { });
        return new Alphabet(chars.stream().mapToInt(c -> c.codePointAt(0)).toArray());
    }

    public void write(Path file) throws IOException {
        JSON.writeValue(file.toFile(), Arrays.stream(codePoints).mapToObj(Character::toString).toList());
    }

    /** Distinct ids, the unknown one included: a character model's input and output size. */
    public int size() {
        return codePoints.length + 1;
    }

    public int id(int codePoint) {
        int i = Arrays.binarySearch(codePoints, codePoint);
        return i < 0 ? UNKNOWN : i + 1;
    }

    /** The character of {@code id}, "?" for the unknown id. */
    public String character(int id) {
        return id == UNKNOWN ? "?" : Character.toString(codePoints[id - 1]);
    }
}

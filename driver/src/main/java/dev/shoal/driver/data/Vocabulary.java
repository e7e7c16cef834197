package dev.shoal.driver.data;

import java.io.IOException;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Words to token ids, built once from the training split on the driver and shipped with the data to the
 * executors; saved next to the model ({@code vocabulary.txt}, one word per line) so that prediction turns text
 * into the same ids. Id 0 pads short texts, id 1 stands for every word not in the vocabulary, and the words
 * follow from id 2 in order of falling frequency.
 */
public final class Vocabulary implements Serializable {
    public static final int PADDING = 0;
    public static final int UNKNOWN = 1;
    /** Markup tags such as IMDB's {@code <br />}, which separate words. */
    private static final Pattern TAG = Pattern.compile("<[^>]*>");
    /** A word: letters and digits, with apostrophes inside it (don't, o'clock). */
    private static final Pattern WORD = Pattern.compile("[\\p{L}\\p{N}]+(?:'[\\p{L}\\p{N}]+)*");

    private final List<String> words;
    private final Map<String, Integer> ids;

    private Vocabulary(List<String> words) {
        this.words = List.copyOf(words);
        this.ids = new HashMap<>();
        for (int i = 0; i < words.size(); i++) {
            ids.put(words.get(i), i + 2);
        }
    }

    /** The words of {@code text}: lower-cased, markup tags and punctuation dropped. */
    public static List<String> words(String text) {
        Matcher m = WORD.matcher(TAG.matcher(text.toLowerCase(Locale.ROOT)).replaceAll(" "));
        List<String> words = new ArrayList<>();
        while (m.find()) {
            words.add(m.group());
        }
        return words;
    }

    /** The {@code size} most frequent words of {@code counts}; equal counts in alphabetical order. */
    public static Vocabulary mostFrequent(Map<String, Integer> counts, int size) {
        return new Vocabulary(counts.entrySet().stream()
                .sorted(Map.Entry.<String, Integer>comparingByValue(Comparator.reverseOrder())
                        .thenComparing(Map.Entry.comparingByKey()))
                .limit(size).map(Map.Entry::getKey).toList());
    }

    /** Reads a vocabulary that {@link #write} saved. */
    public static Vocabulary read(Path file) throws IOException {
        return new Vocabulary(Files.readAllLines(file, StandardCharsets.UTF_8));
    }

    public void write(Path file) throws IOException {
        Files.write(file, words, StandardCharsets.UTF_8);
    }

    /** Distinct ids, padding and unknown included: the size of an embedding layer's input. */
    public int size() {
        return words.size() + 2;
    }

    /** The id of every word of {@code text}. */
    public int[] ids(String text) {
        return words(text).stream().mapToInt(w -> ids.getOrDefault(w, UNKNOWN)).toArray();
    }

    /**
     * The text as exactly {@code length} ids, as the text models read it: a longer text keeps its last
     * {@code length} words (its conclusion), a shorter one is padded in front, so that a recurrent network
     * reads the words last, right before it classifies.
     */
    public void sequence(String text, int length, float[] into, int offset) {
        int[] ids = ids(text);
        int kept = Math.min(length, ids.length);
        int pad = length - kept;
        for (int t = 0; t < pad; t++) {
            into[offset + t] = PADDING;
        }
        for (int t = 0; t < kept; t++) {
            into[offset + pad + t] = ids[ids.length - kept + t];
        }
    }

    /** The words of {@code ids}, "?" for the unknown id, padding left out: to show what a model reads. */
    public String decode(int[] ids) {
        StringBuilder text = new StringBuilder();
        for (int id : ids) {
            if (id == PADDING) {
                continue;
            }
            if (text.length() > 0) {
                text.append(' ');
            }
            text.append(id == UNKNOWN ? "?" : words.get(id - 2));
        }
        return text.toString();
    }
}

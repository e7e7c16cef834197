package dev.shoal.driver.data;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;

/**
 * Labelled texts in a JSON file: either one array of objects (as IMDB's {@code reviews.json}) or one object per
 * line (JSON lines), each with a text field and an integral label field. Streamed record by record, never held
 * whole; gzipped files are read too. Every record is checked as it is read: a malformed file (truncated, not
 * UTF-8, not JSON) or record (missing text, label not a class index) fails naming the file, the record's index
 * and the value found.
 */
public record TextFile(String path, String textField, String labelField, int classes) implements Serializable {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Receives one record. */
    @FunctionalInterface
    public interface RecordSink {
        void accept(int index, String text, int label);
    }

    /** Receives a record that cannot be used, and why. */
    @FunctionalInterface
    public interface BadRecordSink {
        void accept(int index, DataFormatException problem);
    }

    /** Checks every record and returns how many there are, bad ones included; {@code policy} handles those. */
    public int count(BadRecords policy) {
        return forEachRecord((i, text, label) -> { }, (i, problem) -> policy.reject(problem));
    }

    /** Calls {@code sink} once per record, in file order; a bad record fails with its problem. */
    public void forEachRecord(RecordSink sink) {
        forEachRecord(sink, (i, problem) -> {
            throw problem;
        });
    }

    /**
     * Calls {@code sink} once per good record and {@code bad} once per bad one (no text, a label that is not a
     * class index, not an object), in file order; returns how many records there are. A file that is not JSON
     * (truncated, not UTF-8) fails.
     */
    public int forEachRecord(RecordSink sink, BadRecordSink bad) {
        int index = 0;
        try (JsonParser parser = JSON.createParser(InputFiles.open(path))) {
            JsonToken token = parser.nextToken();
            if (token == JsonToken.START_ARRAY) {
                token = parser.nextToken();
            }
            while (token != null && token != JsonToken.END_ARRAY) {
                if (token != JsonToken.START_OBJECT) {
                    parser.skipChildren();
                    bad.accept(index, bad(index, "is not a JSON object but " + token));
                } else {
                    JsonNode record = JSON.readTree(parser);
                    try {
                        sink.accept(index, text(record, index), label(record, index));
                    } catch (DataFormatException problem) {
                        bad.accept(index, problem);
                    }
                }
                index++;
                token = parser.nextToken();
            }
            return index;
        } catch (JsonProcessingException e) {
            var at = e.getLocation();
            throw new DataFormatException(path + ": record " + index + " is not valid JSON"
                    + (at == null ? "" : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")") + ": "
                    + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path + ": " + e.getMessage(), e);
        }
    }

    private String text(JsonNode record, int index) {
        JsonNode text = record.get(textField);
        if (text == null || !text.isTextual()) {
            throw bad(index, "has no text field '" + textField + "'" + found(text) + "; its fields: "
                    + fieldNames(record));
        }
        return text.asText();
    }

    private int label(JsonNode record, int index) {
        JsonNode label = record.get(labelField);
        if (label == null || !label.canConvertToInt() || !label.isIntegralNumber()) {
            throw bad(index, "has no integral label field '" + labelField + "'" + found(label) + "; its fields: "
                    + fieldNames(record));
        }
        int value = label.asInt();
        if (value < 0 || value >= classes) {
            throw bad(index, "has label " + value + ", not in [0, " + (classes - 1) + "] (data.classes = "
                    + classes + ")");
        }
        return value;
    }

    private static String found(JsonNode value) {
        return value == null ? "" : " (found " + value + ")";
    }

    private static String fieldNames(JsonNode record) {
        java.util.List<String> names = new java.util.ArrayList<>();
        record.fieldNames().forEachRemaining(names::add);
        return names.toString();
    }

    private DataFormatException bad(int index, String problem) {
        return new DataFormatException(path + ": record " + index + " " + problem);
    }
}

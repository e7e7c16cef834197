package dev.shoal.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.shoal.jobs.tune.Observation;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * {@code trials.jsonl}: a line when a trial starts (its parameters) and a line when it ends: status
 * {@code completed}, {@code pruned} or {@code failed}, the metric after each epoch, the value it is ranked by,
 * seconds, and its run directory. Read back by a resumed search: ended trials are not run again, and a started
 * one that never ended runs again with the same parameters.
 */
final class TrialLog {
    static final String FILE = "trials.jsonl";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final Map<Integer, ObjectNode> started = new TreeMap<>();
    private final Map<Integer, ObjectNode> ended = new TreeMap<>();

    private TrialLog(Path file) {
        this.file = file;
    }

    /** The log in {@code dir}, with what an earlier run of the search wrote; a line cut by a kill is left out. */
    static TrialLog open(Path dir) {
        TrialLog log = new TrialLog(dir.resolve(FILE));
        if (!Files.exists(log.file)) {
            return log;
        }
        try {
            for (String line : Files.readAllLines(log.file, StandardCharsets.UTF_8)) {
                JsonNode node;
                try {
                    node = JSON.readTree(line);
                } catch (IOException e) {
                    continue;
                }
                if (node instanceof ObjectNode record && record.has("trial")) {
                    (record.path("status").asText().equals("started") ? log.started : log.ended)
                            .put(record.get("trial").asInt(), record);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + log.file + ": " + e.getMessage(), e);
        }
        return log;
    }

    synchronized boolean hasEnded(int trial) {
        return ended.containsKey(trial);
    }

    /** The parameters a trial that started but never ended was given. */
    synchronized Optional<Map<String, JsonNode>> startedParams(int trial) {
        return Optional.ofNullable(started.get(trial)).filter(r -> !ended.containsKey(trial)).map(r -> params(r));
    }

    synchronized void started(int trial, Map<String, JsonNode> params) {
        ObjectNode record = JSON.createObjectNode().put("trial", trial).put("status", "started");
        record.set("params", JSON.valueToTree(params));
        started.put(trial, record);
        append(record);
    }

    synchronized void ended(ObjectNode record) {
        ended.put(record.get("trial").asInt(), record);
        append(record);
    }

    synchronized Collection<ObjectNode> ended() {
        return List.copyOf(ended.values());
    }

    /** The ended trials as a sampler sees them; a failed trial counts as the worst. */
    synchronized List<Observation> observations(boolean maximize) {
        List<Observation> observations = new ArrayList<>();
        for (ObjectNode r : ended.values()) {
            String status = r.path("status").asText();
            double score = status.equals("failed") ? Double.NEGATIVE_INFINITY
                    : (maximize ? 1 : -1) * r.path("value").asDouble();
            observations.add(new Observation(params(r), score, !status.equals("completed")));
        }
        return observations;
    }

    static Map<String, JsonNode> params(JsonNode record) {
        Map<String, JsonNode> params = new LinkedHashMap<>();
        record.path("params").fields().forEachRemaining(f -> params.put(f.getKey(), f.getValue()));
        return params;
    }

    private void append(ObjectNode record) {
        try (BufferedWriter out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND)) {
            out.write(JSON.writeValueAsString(record));
            out.newLine();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot append to " + file + ": " + e.getMessage(), e);
        }
    }
}

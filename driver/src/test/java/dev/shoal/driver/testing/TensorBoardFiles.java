package dev.shoal.driver.testing;

import dev.shoal.driver.tensorboard.EventRecords;
import dev.shoal.tensorboard.proto.Event;
import dev.shoal.tensorboard.proto.SessionLog;
import dev.shoal.tensorboard.proto.Summary;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Reads a folder of TensorBoard event files as TensorBoard shows it: every file in name order (their names start
 * with the time they were made), each record CRC-checked and parsed with the classes generated from the protos,
 * a last record cut short left out (the file of a killed run), and a SessionLog START at step s dropping what came
 * before it from step s on (a restarted run).
 */
public final class TensorBoardFiles {
    private TensorBoardFiles() {
    }

    public static List<Event> events(Path folder) throws IOException {
        List<Path> files;
        try (Stream<Path> list = Files.list(folder)) {
            files = list.filter(p -> p.getFileName().toString().startsWith("events.out.tfevents.")).sorted()
                    .toList();
        }
        List<Event> events = new ArrayList<>();
        for (Path file : files) {
            for (byte[] record : EventRecords.read(file, true)) {
                Event e = Event.parseFrom(record);
                if (e.hasSessionLog() && e.getSessionLog().getStatus() == SessionLog.SessionStatus.START) {
                    events.removeIf(old -> old.getStep() >= e.getStep());
                }
                events.add(e);
            }
        }
        return events;
    }

    /** The values of {@code tag} in the folder, by step. */
    public static SortedMap<Long, Summary.Value> values(Path folder, String tag) throws IOException {
        SortedMap<Long, Summary.Value> values = new TreeMap<>();
        for (Event e : events(folder)) {
            for (Summary.Value v : e.getSummary().getValueList()) {
                if (v.getTag().equals(tag)) {
                    values.put(e.getStep(), v);
                }
            }
        }
        return values;
    }

    /** The scalar {@code tag} by step. */
    public static SortedMap<Long, Float> scalars(Path folder, String tag) throws IOException {
        SortedMap<Long, Float> scalars = new TreeMap<>();
        values(folder, tag).forEach((step, v) -> scalars.put(step, v.getSimpleValue()));
        return scalars;
    }
}

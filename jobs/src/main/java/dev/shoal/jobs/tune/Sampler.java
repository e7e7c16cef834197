package dev.shoal.jobs.tune;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;

/** Proposes the parameters of the next trial. */
public interface Sampler {

    /** The parameters of trial {@code trial} (0-based), knowing the trials {@code finished} so far. */
    Map<String, JsonNode> propose(int trial, List<Observation> finished);
}

package dev.shoal.jobs.tune;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;

/**
 * A finished trial as a sampler sees it: its parameters and its score, higher being better (the metric, or the
 * negated metric when lower is better). A pruned trial's score is that of its last epoch, and it counts as worse
 * than every completed one.
 */
public record Observation(Map<String, JsonNode> params, double score, boolean pruned) {
}

package dev.shoal.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shoal.driver.testing.IdxFixtures;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import javax.imageio.ImageIO;
import org.jsoup.Jsoup;
import org.jsoup.nodes.Document;
import org.jsoup.nodes.Element;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportTest {
    @TempDir
    Path dir;

    private int train(String runId, String... job) throws IOException {
        return TestJobs.train(dir, runId, job);
    }

    private static BufferedImage image(Element img) throws IOException {
        String src = img.attr("src");
        return ImageIO.read(new ByteArrayInputStream(Base64.getDecoder().decode(src.substring(src.indexOf(',') + 1))));
    }

    /**
     * Every run leaves report.html: a self-contained page (every image inline, no URL to fetch) with its charts,
     * a confusion matrix whose cells count every test example once, the prediction grid, plan and provenance;
     * `shoal report a b` overlays two runs in one page.
     */
    @Test
    void aRunLeavesASelfContainedReportAndTwoRunsShareAPage() throws IOException {
        IdxFixtures.Files4 files = IdxFixtures.writeSynthetic(dir, 1200, 300, 11);
        String[] job = {"name: r", files.dataSection().replace("}", ", class-names: [n0, n1, n2, n3, n4, n5, n6, "
                + "n7, n8, n9]}"), "model: {type: mlp, hidden: [32]}", "training: {epochs: 2, batch-size: 32}",
            "sync: {workers: 2, average-every: 5}"};
        assertEquals(0, train("a", job));

        Document page = Jsoup.parse(dir.resolve("runs/a/report.html").toFile());
        assertTrue(page.title().contains("a"), page.title());
        for (String chart : List.of("loss", "accuracy", "throughput", "memory", "rounds", "predictions")) {
            Element img = page.getElementById(chart);
            assertTrue(img != null && image(img).getWidth() > 100, "chart " + chart);
        }
        for (Element e : page.select("[src], [href]")) {
            String url = e.hasAttr("src") ? e.attr("src") : e.attr("href");
            assertTrue(url.startsWith("data:image/png;base64,"), "nothing to fetch: " + url.substring(0, 30));
        }
        long counted = page.select("table.confusion td.cell").stream().mapToLong(td -> Long.parseLong(td.text()))
                .sum();
        assertEquals(300, counted, "the confusion matrix counts every test example once");
        assertEquals("n3", page.select("table.confusion tr").get(4).child(0).text(), "classes by name");
        assertEquals(5 * (124 + 4), image(page.getElementById("predictions")).getWidth(), "5 x 5 test images");
        assertEquals(300, new ObjectMapper().readTree(dir.resolve("runs/a/evaluation.json").toFile())
                .get("examples").asLong());
        assertTrue(page.select("pre").get(0).text().contains("hidden:"), "the plan");

        assertEquals(0, train("b", job));
        Path both = dir.resolve("both.html");
        assertEquals(0, Shoal.run("report", dir.resolve("runs/a").toString(), dir.resolve("runs/b").toString(),
                "--output", both.toString()));
        Document compared = Jsoup.parse(both.toFile());
        assertEquals(List.of("a", "b"), compared.select("table.summary tr td:first-child").eachText());
        assertEquals(2, compared.select("table.confusion").size(), "each run's matrix");
        assertEquals(2, Shoal.run("report", dir.toString()), "not a run directory");
    }
}

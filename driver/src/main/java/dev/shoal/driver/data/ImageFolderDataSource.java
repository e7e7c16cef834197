package dev.shoal.driver.data;

import dev.shoal.kernel.ExampleBlock;
import dev.shoal.kernel.InputShape;
import dev.shoal.kernel.Shuffle;
import dev.shoal.kernel.config.ConfigException;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import javax.imageio.ImageIO;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * Images in class folders, the layout most image sets ship in: {@code <folder>/<class>/<image>}, one sub-folder
 * per class, classes numbered in name order. PNG, JPEG, GIF and BMP files are read with the JDK's ImageIO, drawn
 * over white (transparent pixels become white), scaled to the configured {@code height x width} and stored as
 * channel planes (RGB, or grey for one channel) in [0, 1]. Executors read the files of their own examples only,
 * placed on blocks by a seeded permutation as every other source does.
 *
 * @param files      every image, class folder by class folder
 * @param labels     the class of each file
 * @param classNames the class folders' names, in class order
 */
public record ImageFolderDataSource(List<String> files, int[] labels, List<String> classNames, InputShape shape,
                                    BadRecords bad) implements DataSource, Serializable {
    private static final Set<String> EXTENSIONS = Set.of("png", "jpg", "jpeg", "gif", "bmp");

    /**
     * Lists the images under {@code path}, one class per sub-folder.
     *
     * @param key        the job-file key of the path, for messages
     * @param classNames the classes to expect, in order (those of the training set); empty to take the folders
     * @param classes    data.classes: how many class folders there must be
     */
    public static ImageFolderDataSource open(String key, String path, List<String> classNames, int classes,
                                             InputShape shape) {
        try {
            Path root = new Path(path);
            FileSystem fs = InputFiles.fileSystem(root);
            FileStatus[] entries = fs.listStatus(root);
            List<String> folders = Arrays.stream(entries).filter(FileStatus::isDirectory)
                    .map(s -> s.getPath().getName()).filter(n -> !n.startsWith(".")).sorted().toList();
            List<String> names = classNames.isEmpty() ? folders : classNames;
            if (classNames.isEmpty() && folders.size() != classes) {
                throw new ConfigException("data.classes", classes, "but " + path + " has " + folders.size()
                        + " class folders: " + folders);
            }
            List<String> files = new ArrayList<>();
            List<Integer> labels = new ArrayList<>();
            for (String folder : folders) {
                int label = names.indexOf(folder);
                if (label < 0) {
                    throw new ConfigException(key, path, "has a folder '" + folder + "' that is not a class of the "
                            + "training set " + names);
                }
                for (FileStatus image : InputFiles.filesIn(fs, new Path(root, folder))) {
                    if (EXTENSIONS.contains(extension(image.getPath().getName()))) {
                        files.add(image.getPath().toString());
                        labels.add(label);
                    }
                }
            }
            if (files.isEmpty()) {
                throw new ConfigException(key, path, "holds no images (.png, .jpg, .gif, .bmp) in class folders");
            }
            return new ImageFolderDataSource(files, labels.stream().mapToInt(Integer::intValue).toArray(), names,
                    shape, BadRecords.FAIL);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + path + ": " + e.getMessage(), e);
        }
    }

    /** {@code n} of the images (all if there are fewer), drawn by {@code seed}: a share of every class. */
    public ImageFolderDataSource sample(int n, long seed) {
        if (n >= examples()) {
            return this;
        }
        int[] chosen = Arrays.stream(Shuffle.permutation(examples(), seed)).limit(n).sorted().toArray();
        return new ImageFolderDataSource(Arrays.stream(chosen).mapToObj(files::get).toList(),
                Arrays.stream(chosen).map(i -> labels[i]).toArray(), classNames, shape, bad);
    }

    /** The same images, with files that cannot be decoded handled by {@code policy}. */
    public ImageFolderDataSource with(BadRecords policy) {
        return new ImageFolderDataSource(files, labels, classNames, shape, policy);
    }

    private static String extension(String name) {
        return name.substring(name.lastIndexOf('.') + 1).toLowerCase(Locale.ROOT);
    }

    @Override
    public int examples() {
        return files.size();
    }

    @Override
    public int classes() {
        return classNames.size();
    }

    @Override
    public int featureSize() {
        return shape.size();
    }

    /** Pixels read from bytes, scaled to [0, 1]. */
    @Override
    public int distinctValues() {
        return 256;
    }

    @Override
    public InputShape inputShape() {
        return shape;
    }

    @Override
    public JavaRDD<ExampleBlock> load(JavaSparkContext sc, int partitions, long seed) {
        return DataSource.readOnExecutors(sc, partitions, files.get(0), p -> readBlock(p, partitions, seed));
    }

    /** Runs on an executor: decodes the images whose slot falls in this partition. */
    ExampleBlock readBlock(int partition, int partitions, long seed) {
        int n = examples();
        int[] slotOf = Shuffle.permutation(n, seed);
        int first = DataSource.start(partition, partitions, n);
        int size = DataSource.start(partition + 1, partitions, n) - first;
        float[] x = new float[size * shape.size()];
        int[] y = new int[size];
        boolean[] filled = new boolean[size];
        for (int i = 0; i < n; i++) {
            int row = slotOf[i] - first;
            if (row >= 0 && row < size) {
                try {
                    pixels(files.get(i), x, row * shape.size());
                    y[row] = labels[i];
                    filled[row] = true;
                } catch (DataFormatException e) {
                    bad.reject(e);
                }
            }
        }
        return DataSource.compact(x, y, filled, shape.size(), classes());
    }

    /** Decodes, flattens over white, scales and writes one image's channel planes at {@code offset}. */
    void pixels(String file, float[] into, int offset) {
        pixels(file, shape, into, offset);
    }

    /**
     * One image file as training reads it: decoded, drawn over white, scaled to {@code shape}, channel planes in
     * [0, 1]; a file that cannot be decoded fails naming it.
     */
    public static float[] decode(String file, InputShape shape) {
        float[] x = new float[shape.size()];
        pixels(file, shape, x, 0);
        return x;
    }

    /**
     * The image files (.png, .jpg, .jpeg, .gif, .bmp) under {@code path}, in any sub-folder, hidden ones left out,
     * in path order.
     */
    public static List<String> imagesUnder(String path) {
        try {
            Path root = new Path(path);
            FileSystem fs = InputFiles.fileSystem(root);
            List<String> images = new ArrayList<>();
            var listing = fs.listFiles(root, true);
            while (listing.hasNext()) {
                Path file = listing.next().getPath();
                if (!file.getName().startsWith(".") && EXTENSIONS.contains(extension(file.getName()))) {
                    images.add(file.toString());
                }
            }
            images.sort(null);
            return images;
        } catch (java.io.FileNotFoundException e) {
            throw new ConfigException("--input", path, "no such file or folder");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + path + ": " + e.getMessage(), e);
        }
    }

    private static void pixels(String file, InputShape shape, float[] into, int offset) {
        BufferedImage image;
        try (InputStream in = InputFiles.open(file)) {
            image = ImageIO.read(in);
        } catch (IOException e) {
            throw new DataFormatException(file + ": not a readable image: " + e.getMessage(), e);
        }
        if (image == null) {
            throw new DataFormatException(file + ": not an image that ImageIO can decode (PNG, JPEG, GIF, BMP)");
        }
        int h = shape.height();
        int w = shape.width();
        BufferedImage scaled = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = scaled.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
        g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
        g.drawImage(image, 0, 0, w, h, Color.WHITE, null);
        g.dispose();
        int plane = h * w;
        for (int r = 0; r < h; r++) {
            for (int c = 0; c < w; c++) {
                int rgb = scaled.getRGB(c, r);
                float red = ((rgb >> 16) & 0xff) / 255f;
                float green = ((rgb >> 8) & 0xff) / 255f;
                float blue = (rgb & 0xff) / 255f;
                int at = offset + r * w + c;
                if (shape.channels() == 1) {
                    into[at] = 0.299f * red + 0.587f * green + 0.114f * blue;
                } else {
                    into[at] = red;
                    into[at + plane] = green;
                    into[at + 2 * plane] = blue;
                }
            }
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ImageFolderDataSource s && files.equals(s.files) && Arrays.equals(labels, s.labels)
                && classNames.equals(s.classNames) && shape.equals(s.shape) && bad.equals(s.bad);
    }

    @Override
    public int hashCode() {
        return files.hashCode();
    }
}

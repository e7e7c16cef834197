package dev.shoal.driver.data;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.bytes.ByteBufferInputStream;
import org.apache.parquet.bytes.BytesUtils;
import org.apache.parquet.column.ColumnDescriptor;
import org.apache.parquet.column.Dictionary;
import org.apache.parquet.column.ValuesType;
import org.apache.parquet.column.page.DataPage;
import org.apache.parquet.column.page.DataPageV1;
import org.apache.parquet.column.page.DataPageV2;
import org.apache.parquet.column.page.DictionaryPage;
import org.apache.parquet.column.page.PageReadStore;
import org.apache.parquet.column.page.PageReader;
import org.apache.parquet.column.values.ValuesReader;
import org.apache.parquet.column.values.bitpacking.BytePacker;
import org.apache.parquet.column.values.bitpacking.Packer;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.metadata.BlockMetaData;
import org.apache.parquet.hadoop.metadata.ParquetMetadata;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;
import org.apache.parquet.schema.Type;

/**
 * A Parquet table of a numeric label column and either one array column of numbers (as Spark writes a
 * {@code float[]}: a LIST of FLOAT, DOUBLE or INT32) or number columns (FLOAT, DOUBLE, INT32), read with Parquet's
 * own page readers instead of Spark SQL: no session, no schema inference job, no row-count job (the files' footers
 * give the schema and each row group's rows), and the values decoded straight from the pages, a dictionary's
 * values once per column chunk.
 *
 * <p>The table's rows are numbered in the order of its files' names, then of each file's row groups, so a row's
 * number (and its slot in a seeded permutation) depends on the data alone, not on how Spark splits files. A part
 * (a row group, or a range of a large one's rows: {@link #split}) is a task. Anything else (a folder of partition
 * folders, a glob, other column types, a vector column) is left to Spark SQL: {@link #find} says so by returning
 * empty.
 *
 * @param parts       the parts in the rows' order
 * @param label       the label column's name
 * @param features    the feature columns' names: one array column, or number columns
 * @param array       whether the features are one array column
 * @param featureSize the values of the first row's array (-1 when it is null), or the number columns
 */
record ParquetTable(List<Part> parts, String label, List<String> features, boolean array, int featureSize)
        implements Serializable {
    private static final int FOOTER_THREADS = 16;
    /** The least bytes of a row group (uncompressed) that a part is cut to ({@link #split}). */
    static final long MIN_PIECE_BYTES = 64L << 20;

    /**
     * Rows of one row group: its file, its index in the file, and the rows read of it, from row {@code firstRow}
     * of the group (a row group is cut in parts when there are fewer than cores; a row limit cuts it short).
     */
    record Part(String file, int rowGroup, long firstRow, long rows) implements Serializable {
    }

    /**
     * The table at {@code path} when it is a Parquet file, or a folder of Parquet files (names starting with
     * "_" or "." left out, as Spark does), whose label column {@code label} and feature columns ({@code features},
     * or as Spark SQL finds them when the list is empty: "features", else every number column but the label) are
     * of types these readers read, the same in every file; empty when Spark SQL should read it instead. Reads the
     * footers and, for an array, the first row.
     */
    static Optional<ParquetTable> find(String path, String label, List<String> features, int limit, int minParts,
                                       Configuration conf) {
        if (path.matches(".*[*?\\[{].*")) {
            return Optional.empty();
        }
        try {
            List<Path> files = files(new Path(path), conf);
            if (files.isEmpty()) {
                return Optional.empty();
            }
            List<ParquetMetadata> footers = footers(files, conf);
            List<Part> parts = new ArrayList<>();
            List<Long> bytes = new ArrayList<>();
            List<Type> columns = null;
            long rows = 0;
            for (int f = 0; f < files.size(); f++) {
                Optional<List<Type>> read = columns(footers.get(f).getFileMetaData().getSchema(), label, features);
                if (read.isEmpty() || columns != null && !read.get().equals(columns)) {
                    return Optional.empty(); // files that disagree: Spark's rules decide
                }
                columns = read.get();
                List<BlockMetaData> groups = footers.get(f).getBlocks();
                for (int g = 0; g < groups.size(); g++) {
                    long n = groups.get(g).getRowCount();
                    if (limit > 0) {
                        n = Math.max(0, Math.min(n, limit - rows));
                    }
                    rows += n;
                    parts.add(new Part(files.get(f).toUri().toString(), g, 0, n));
                    bytes.add(groups.get(g).getTotalByteSize());
                }
            }
            List<String> names = columns.subList(1, columns.size()).stream().map(Type::getName).toList();
            boolean array = !columns.get(1).isPrimitive();
            ParquetTable table = new ParquetTable(split(parts, bytes, minParts), label, names, array,
                    names.size());
            return Optional.of(array ? new ParquetTable(table.parts, label, names, true, table.firstRowSize(conf))
                    : table);
        } catch (FileNotFoundException e) {
            return Optional.empty(); // Spark SQL names a missing path in its own words
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path + ": " + e.getMessage(), e);
        }
    }

    /**
     * The label's and the features' columns of {@code schema}, in that order, when these readers read them all;
     * empty otherwise (a missing column is named by Spark SQL).
     */
    private static Optional<List<Type>> columns(MessageType schema, String label, List<String> features) {
        if (!schema.containsField(label) || !number(schema.getType(label), true)) {
            return Optional.empty();
        }
        List<String> names = features;
        if (names.isEmpty()) {
            names = new ArrayList<>();
            for (Type t : schema.getFields()) {
                if (t.getName().equals("features")) {
                    names = List.of("features");
                    break;
                }
                if (!t.getName().equals(label) && sparkNumber(t)) {
                    names.add(t.getName());
                }
            }
        }
        if (names.isEmpty() || names.contains(label)) {
            return Optional.empty();
        }
        List<Type> columns = new ArrayList<>(List.of(schema.getType(label)));
        for (String name : names) {
            if (!schema.containsField(name)) {
                return Optional.empty();
            }
            Type t = schema.getType(name);
            if (!(names.size() == 1 && listOfNumbers(t) || number(t, false))) {
                return Optional.empty();
            }
            columns.add(t);
        }
        return Optional.of(columns);
    }

    /**
     * The files' footers, in their order, read by up to {@value #FOOTER_THREADS} threads: each is a round trip or
     * two to the file system, which a folder of many files on HDFS or S3 would otherwise pay one after the other.
     */
    private static List<ParquetMetadata> footers(List<Path> files, Configuration conf) throws IOException {
        ExecutorService pool = Executors.newFixedThreadPool(Math.min(FOOTER_THREADS, files.size()));
        try {
            List<Future<ParquetMetadata>> reads = new ArrayList<>();
            for (Path file : files) {
                reads.add(pool.submit(() -> {
                    try (ParquetFileReader reader = ParquetFileReader.open(HadoopInputFile.fromPath(file, conf))) {
                        return reader.getFooter();
                    }
                }));
            }
            List<ParquetMetadata> footers = new ArrayList<>();
            for (Future<ParquetMetadata> read : reads) {
                footers.add(read.get());
            }
            return footers;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while reading the footers", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new IllegalStateException(e.getCause());
        } finally {
            pool.shutdownNow();
        }
    }

    /** The Parquet files at {@code path}: itself, or a folder's files by name; empty if it holds folders. */
    private static List<Path> files(Path path, Configuration conf) throws IOException {
        FileSystem fs = path.getFileSystem(conf);
        FileStatus status = fs.getFileStatus(path);
        if (status.isFile()) {
            return List.of(status.getPath());
        }
        List<Path> files = new ArrayList<>();
        for (FileStatus s : fs.listStatus(path)) {
            String name = s.getPath().getName();
            if (name.startsWith("_") || name.startsWith(".")) {
                continue;
            }
            if (!s.isFile()) {
                return List.of(); // partition folders (year=2024/...): Spark SQL reads their values as columns
            }
            files.add(s.getPath());
        }
        files.sort(null);
        return files;
    }

    /**
     * A top-level number column, one value per row, of a type read here: FLOAT, DOUBLE, signed INT32, and for a
     * label signed INT64 (a feature's float from a long through a double could round twice).
     */
    private static boolean number(Type t, boolean label) {
        return t.isPrimitive() && !t.isRepetition(Type.Repetition.REPEATED) && switch (
                t.asPrimitiveType().getPrimitiveTypeName()) {
            case INT32 -> plainInteger(t);
            case INT64 -> label && plainInteger(t);
            case FLOAT, DOUBLE -> t.getLogicalTypeAnnotation() == null;
            default -> false;
        };
    }

    /** No annotation, or a signed integer's. */
    private static boolean plainInteger(Type t) {
        LogicalTypeAnnotation a = t.getLogicalTypeAnnotation();
        return a == null || a instanceof LogicalTypeAnnotation.IntLogicalTypeAnnotation i && i.isSigned();
    }

    /** A top-level column that Spark SQL reads as a number (and so takes as a feature when none are named). */
    private static boolean sparkNumber(Type t) {
        if (!t.isPrimitive() || t.isRepetition(Type.Repetition.REPEATED)) {
            return false;
        }
        LogicalTypeAnnotation a = t.getLogicalTypeAnnotation();
        boolean decimal = a instanceof LogicalTypeAnnotation.DecimalLogicalTypeAnnotation;
        return switch (t.asPrimitiveType().getPrimitiveTypeName()) {
            case INT32, INT64 -> a == null || decimal || a instanceof LogicalTypeAnnotation.IntLogicalTypeAnnotation;
            case FLOAT, DOUBLE -> true;
            case BINARY, FIXED_LEN_BYTE_ARRAY -> decimal;
            default -> false;
        };
    }

    /**
     * A standard three-level LIST column ({@code group (LIST) { repeated group list { element } }}) whose element
     * is a number of a type read here, as a feature column's (FLOAT, DOUBLE, signed INT32).
     */
    private static boolean listOfNumbers(Type t) {
        if (t.isPrimitive() || t.isRepetition(Type.Repetition.REPEATED)
                || !(t.getLogicalTypeAnnotation() instanceof LogicalTypeAnnotation.ListLogicalTypeAnnotation)
                || t.asGroupType().getFieldCount() != 1) {
            return false;
        }
        Type list = t.asGroupType().getType(0);
        return !list.isPrimitive() && list.isRepetition(Type.Repetition.REPEATED)
                && list.asGroupType().getFieldCount() == 1 && number(list.asGroupType().getType(0), false);
    }

    /**
     * {@code parts} (row groups of {@code bytes} each, uncompressed), each cut into equal ranges of rows when there
     * are fewer than {@code minParts} with rows, so that the cores share a table of one row group (a pandas or
     * pyarrow file of up to a million rows). A part still reads and decompresses its whole row group and decodes
     * the levels up to its first row, so a piece is at least {@value #MIN_PIECE_BYTES} bytes: Fashion-MNIST's
     * 60,000 rows (35 MB) cut in two, beside a test set as large, loaded 15-20% slower than whole (a test set of
     * 10,000 rows beside it: 15-20% faster); ten times the rows in one row group (350 MB) beside 10,000 loaded in
     * 3.9-4.4 s cut in two, 5.0-5.9 whole (2 cores).
     */
    static List<Part> split(List<Part> parts, List<Long> bytes, int minParts) {
        long groups = parts.stream().filter(p -> p.rows() > 0).count();
        if (groups == 0 || groups >= minParts) {
            return List.copyOf(parts);
        }
        long pieces = (minParts + groups - 1) / groups;
        List<Part> split = new ArrayList<>();
        for (int i = 0; i < parts.size(); i++) {
            Part p = parts.get(i);
            long k = Math.max(1, Math.min(Math.min(pieces, p.rows()), bytes.get(i) / MIN_PIECE_BYTES));
            for (long j = 0; j < k; j++) {
                long from = p.rows() * j / k;
                split.add(new Part(p.file(), p.rowGroup(), p.firstRow() + from, p.rows() * (j + 1) / k - from));
            }
        }
        return List.copyOf(split);
    }

    /** The rows of each part, in order. */
    long[] partRows() {
        return parts.stream().mapToLong(Part::rows).toArray();
    }

    /** The size of the first row's array (-1: null), read from the first part with rows. */
    private int firstRowSize(Configuration conf) throws IOException {
        for (Part p : parts) {
            if (p.rows() > 0) {
                try (Rows rows = rows(p, conf)) {
                    rows.next();
                    return rows.size();
                }
            }
        }
        return 0;
    }

    /** The rows of {@code part}: an iterator over one cursor (a row is read before the next is taken). */
    Rows rows(Part part, Configuration conf) throws IOException {
        ParquetFileReader reader = ParquetFileReader.open(HadoopInputFile.fromPath(new Path(part.file()), conf));
        try {
            MessageType schema = reader.getFooter().getFileMetaData().getSchema();
            List<Type> types = new ArrayList<>(List.of(schema.getType(label)));
            features.forEach(f -> types.add(schema.getType(f)));
            MessageType read = new MessageType(schema.getName(), types);
            reader.setRequestedSchema(read);
            BlockMetaData group = reader.getRowGroups().get(part.rowGroup());
            if (group.getRowCount() < part.firstRow() + part.rows()) {
                throw new IOException(part.file() + " has " + group.getRowCount() + " rows in row group "
                        + part.rowGroup() + ", " + (part.firstRow() + part.rows())
                        + " when the table was opened: did it change?");
            }
            PageReadStore pages = reader.readRowGroup(part.rowGroup());
            List<ColumnDescriptor> leaves = read.getColumns(); // the label's, then one a feature column
            Column[] columns = new Column[leaves.size()];
            for (int c = 0; c < columns.length; c++) {
                columns[c] = new Column(leaves.get(c), pages);
                columns[c].skipRows(part.firstRow());
            }
            return new Rows(reader, part, columns[0], Arrays.copyOfRange(columns, 1, columns.length), array);
        } catch (IOException | RuntimeException e) {
            reader.close();
            throw e;
        }
    }

    /**
     * The rows of one part, one at a time: {@link #next} reads a row's label and features (its array, or
     * one value a number column); {@link #values}, {@link #size} and the null flags describe it until the next
     * call.
     */
    static final class Rows implements Iterator<Rows>, AutoCloseable {
        private final ParquetFileReader reader;
        private final Part part;
        private final Column label;
        private final Column[] features;
        private final boolean array;
        private long read;
        private float[] values;
        private int size;
        private int nullElement;
        private double labelValue;
        private boolean labelNull;

        private Rows(ParquetFileReader reader, Part part, Column label, Column[] features, boolean array) {
            this.reader = reader;
            this.part = part;
            this.label = label;
            this.features = features;
            this.array = array;
            values = new float[Math.max(64, features.length)];
        }

        @Override
        public boolean hasNext() {
            return read < part.rows();
        }

        /** Reads the next row. */
        @Override
        public Rows next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            try {
                readLabel();
                if (array) {
                    readArray();
                } else {
                    readNumbers();
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + part.file() + ": " + e.getMessage(), e);
            }
            read++;
            return this;
        }

        private void readLabel() throws IOException {
            Column c = label;
            ended(c);
            labelNull = c.definitions[c.entry] < c.maxDefinition;
            labelValue = labelNull ? 0 : c.value();
            c.entry++;
        }

        /**
         * A row's array: its entries up to the next that starts a row (repetition level 0), page by page. One
         * entry below the list's level is a null (or, one level below, an empty) list; an entry between it and a
         * value's level is a null element.
         */
        private void readArray() throws IOException {
            Column c = features[0];
            ended(c);
            size = 0;
            nullElement = -1;
            int d = c.definitions[c.entry];
            if (d < c.listDefinition) {
                size = d == c.listDefinition - 1 ? 0 : -1;
                c.entry++;
                return;
            }
            for (boolean first = true; ; first = false) {
                int from = c.entry;
                if (!first && c.repetitions[from] == 0) {
                    return; // the next row starts a page
                }
                int to = from + 1;
                while (to < c.entries && c.repetitions[to] > 0) {
                    to++;
                }
                if (values.length < size + to - from) {
                    values = Arrays.copyOf(values, Math.max(2 * values.length, size + to - from));
                }
                int firstNull = c.floats(from, to, values, size);
                if (firstNull >= 0 && nullElement < 0) {
                    nullElement = firstNull;
                }
                size += to - from;
                c.entry = to;
                if (to < c.entries || c.atEnd()) {
                    return;
                }
            }
        }

        /** A row's value of each number column (0 for a null; the first null's column in {@link #nullElement}). */
        private void readNumbers() throws IOException {
            nullElement = -1;
            for (int f = 0; f < features.length; f++) {
                Column c = features[f];
                ended(c);
                if (c.definitions[c.entry] < c.maxDefinition) {
                    nullElement = nullElement < 0 ? f : nullElement;
                    values[f] = 0;
                } else {
                    values[f] = (float) c.value();
                }
                c.entry++;
            }
            size = features.length;
        }

        /** Fails when {@code c} has no more entries although the row group has more rows. */
        private void ended(Column c) throws IOException {
            if (c.atEnd()) {
                throw new IOException("column " + c.descriptor + " of row group " + part.rowGroup() + " ends at row "
                        + read + "; the row group has " + part.rows());
            }
        }

        /** The current row's array values (its first {@link #size}). */
        float[] values() {
            return values;
        }

        /** The current row's values: its array's (-1 when the array is null), or one a number column. */
        int size() {
            return size;
        }

        /** The index of the current row's first null element or number column, -1 if none. */
        int nullElement() {
            return nullElement;
        }

        boolean labelNull() {
            return labelNull;
        }

        double label() {
            return labelValue;
        }

        /** The file the rows are in. */
        String file() {
            return part.file();
        }

        @Override
        public void close() throws IOException {
            reader.close();
        }
    }

    /**
     * One column of a row group, entry by entry across its pages: each entry's repetition and definition level
     * and, at the column's full definition level, its value (dictionary ids through the decoded dictionary). A
     * page's levels are decoded when it is opened, its dictionary ids when a value is first read, in one pass each
     * ({@link #hybrid}).
     */
    private static final class Column {
        private final ColumnDescriptor descriptor;
        private final PageReader pages;
        private final PrimitiveTypeName type;
        private final int maxRepetition;
        private final int maxDefinition;
        /** The definition level of an entry inside a (list) column's array: lower ones are null or empty lists. */
        private final int listDefinition;
        private final Dictionary dictionary;
        private final double[] decoded;
        private final float[] decodedFloats;
        private int[] repetitions = new int[0];
        private int[] definitions = new int[0];
        private int[] ids = new int[0];
        /** The current page's dictionary ids, still encoded ({@link #ids()} decodes them), and their width. */
        private ByteBuffer idBytes;
        private int idWidth;
        /** The current page's values when they are not dictionary ids. */
        private ValuesReader plain;
        /** The current page's entries, and those with a value. */
        private int entries;
        private int present;
        /** The next entry of the page, and its value's dictionary id when it has one. */
        private int entry;
        private int id;

        Column(ColumnDescriptor descriptor, PageReadStore store) throws IOException {
            this.descriptor = descriptor;
            this.pages = store.getPageReader(descriptor);
            this.type = descriptor.getPrimitiveType().getPrimitiveTypeName();
            this.maxRepetition = descriptor.getMaxRepetitionLevel();
            this.maxDefinition = descriptor.getMaxDefinitionLevel();
            this.listDefinition = maxRepetition == 0 ? 0
                    : maxDefinition - (descriptor.getPrimitiveType().isRepetition(Type.Repetition.OPTIONAL) ? 1 : 0);
            DictionaryPage page = pages.readDictionaryPage();
            dictionary = page == null ? null : page.getEncoding().initDictionary(descriptor, page);
            decoded = page == null ? null : decode(dictionary);
            decodedFloats = new float[decoded == null ? 0 : decoded.length];
            for (int i = 0; i < decodedFloats.length; i++) {
                decodedFloats[i] = (float) decoded[i]; // as Spark casts doubles and ints to floats
            }
        }

        private double[] decode(Dictionary d) {
            double[] values = new double[d.getMaxId() + 1];
            for (int i = 0; i < values.length; i++) {
                values[i] = switch (type) {
                    case INT32 -> d.decodeToInt(i);
                    case INT64 -> d.decodeToLong(i);
                    case FLOAT -> d.decodeToFloat(i);
                    case DOUBLE -> d.decodeToDouble(i);
                    default -> throw new IllegalStateException("not a number column: " + descriptor);
                };
            }
            return values;
        }

        /** Whether the column has no entry left; else the next is at {@link #entry}, its page opened. */
        boolean atEnd() throws IOException {
            while (entry == entries) {
                DataPage page = pages.readPage();
                if (page == null) {
                    return true;
                }
                open(page);
            }
            return false;
        }

        /**
         * Moves past the entries of the column's next {@code rows} rows (a row: an entry of repetition level 0
         * and the entries after it above 0), their values unread.
         */
        void skipRows(long rows) throws IOException {
            for (long skipped = 0; ; entry++) {
                if (atEnd()) {
                    if (skipped < rows) {
                        throw new IOException("column " + descriptor + " ends after " + skipped + " rows, before "
                                + "the " + rows + " a part starts after");
                    }
                    return;
                }
                if (repetitions[entry] == 0) {
                    if (skipped == rows) {
                        return;
                    }
                    skipped++;
                }
                if (definitions[entry] == maxDefinition) {
                    if (plain == null) {
                        id++;
                    } else {
                        plain.skip();
                    }
                }
            }
        }

        /** The value of the next entry that has one (definition level at its maximum). */
        double value() throws IOException {
            return plain == null ? decoded[ids()[id++]] : plainValue();
        }

        /** The current page's dictionary ids, decoded the first time they are asked for. */
        private int[] ids() throws IOException {
            if (idBytes != null) {
                ids = room(ids, present);
                hybrid(idBytes, idWidth, ids, present);
                idBytes = null;
                for (int i = 0; i < present; i++) {
                    if (ids[i] < 0 || ids[i] >= decoded.length) {
                        throw new IOException("column " + descriptor + ": dictionary id " + ids[i] + " of "
                                + decoded.length);
                    }
                }
            }
            return ids;
        }

        private double plainValue() {
            return switch (type) {
                case INT32 -> plain.readInteger();
                case INT64 -> plain.readLong();
                case FLOAT -> plain.readFloat();
                default -> plain.readDouble();
            };
        }

        /**
         * The values of entries {@code from} to {@code to} of the page as floats into {@code out} at {@code at},
         * 0 for a null; the index in {@code out} of the first null, or -1.
         */
        int floats(int from, int to, float[] out, int at) throws IOException {
            int[] pageIds = plain == null ? ids() : null;
            if (plain == null && present == entries) { // a dictionary's values and no null: a plain gather
                for (int e = from; e < to; e++) {
                    out[at++] = decodedFloats[pageIds[e]];
                }
                id += to - from;
                return -1;
            }
            int firstNull = -1;
            for (int e = from; e < to; e++, at++) {
                if (definitions[e] == maxDefinition) {
                    out[at] = plain == null ? decodedFloats[pageIds[id++]] : (float) plainValue();
                } else {
                    firstNull = firstNull < 0 ? at : firstNull;
                    out[at] = 0;
                }
            }
            return firstNull;
        }

        private void open(DataPage page) throws IOException {
            entries = page.getValueCount();
            entry = 0;
            id = 0;
            repetitions = room(repetitions, entries);
            definitions = room(definitions, entries);
            org.apache.parquet.column.Encoding encoding;
            ByteBufferInputStream in;
            if (page instanceof DataPageV1 v1) {
                in = v1.getBytes().toInputStream();
                levels(v1.getRlEncoding(), maxRepetition, in, repetitions, ValuesType.REPETITION_LEVEL);
                levels(v1.getDlEncoding(), maxDefinition, in, definitions, ValuesType.DEFINITION_LEVEL);
                encoding = v1.getValueEncoding();
            } else {
                DataPageV2 v2 = (DataPageV2) page;
                hybrid(v2.getRepetitionLevels().toByteBuffer(), width(maxRepetition), repetitions, entries);
                hybrid(v2.getDefinitionLevels().toByteBuffer(), width(maxDefinition), definitions, entries);
                in = v2.getData().toInputStream();
                encoding = v2.getDataEncoding();
            }
            present = 0;
            for (int e = 0; e < entries; e++) {
                present += definitions[e] == maxDefinition ? 1 : 0;
            }
            if (encoding.usesDictionary()) {
                if (dictionary == null) {
                    throw new IOException("a page of column " + descriptor + " is dictionary-encoded, without a "
                            + "dictionary");
                }
                idWidth = in.read();
                idBytes = in.slice(in.available()); // decoded when a value is first read: skipped pages never are
                plain = null;
            } else {
                plain = encoding.getValuesReader(descriptor, ValuesType.VALUES);
                plain.initFromPage(present, in);
                idBytes = null;
            }
        }

        /**
         * A version 1 page's levels into {@code out}: run-length/bit-packed after their length, as writers
         * write them; none (all 0) for a level that cannot be above 0; Parquet's own reader for an old encoding.
         */
        private void levels(org.apache.parquet.column.Encoding encoding, int maxLevel, ByteBufferInputStream in,
                            int[] out, ValuesType type) throws IOException {
            if (maxLevel == 0) {
                Arrays.fill(out, 0, entries, 0);
            } else if (encoding == org.apache.parquet.column.Encoding.RLE) {
                int length = BytesUtils.readIntLittleEndian(in);
                hybrid(in.slice(length), width(maxLevel), out, entries);
            } else {
                ValuesReader reader = encoding.getValuesReader(descriptor, type);
                reader.initFromPage(entries, in);
                for (int e = 0; e < entries; e++) {
                    out[e] = reader.readInteger();
                }
            }
        }
    }

    /** {@code a}, or a larger array when it has no room for {@code n} values and a bit-packed run's last 7. */
    private static int[] room(int[] a, int n) {
        return a.length >= n + 8 ? a : new int[n + n / 2 + 8];
    }

    /** The bits of a level that is at most {@code maxLevel}. */
    private static int width(int maxLevel) {
        return BytesUtils.getWidthFromMaxInt(maxLevel);
    }

    /**
     * Decodes {@code count} values of {@code width} bits in Parquet's run-length/bit-packing hybrid encoding
     * (levels, dictionary ids) into {@code out} in one pass: a run of repeats is one fill, a bit-packed run is
     * unpacked eight values at a time by Parquet's packers. Parquet's own decoder allocates two arrays and a
     * stream for every bit-packed run, which made it half of a Parquet table's load: a row of pixels has dozens
     * of runs.
     */
    static void hybrid(ByteBuffer in, int width, int[] out, int count) throws IOException {
        if (width == 0) {
            Arrays.fill(out, 0, count, 0);
            return;
        }
        try {
            hybridRuns(in, width, out, count);
        } catch (IndexOutOfBoundsException e) {
            throw new IOException("a run of " + width + "-bit values overruns its page");
        }
    }

    private static void hybridRuns(ByteBuffer in, int width, int[] out, int count) throws IOException {
        BytePacker packer = Packer.LITTLE_ENDIAN.newBytePacker(width);
        int bytes = (width + 7) / 8;
        int at = in.position();
        int n = 0;
        while (n < count) {
            int header = 0;
            for (int shift = 0; ; shift += 7) {
                int b = in.get(at++);
                header |= (b & 0x7F) << shift;
                if (b >= 0) {
                    break;
                }
            }
            int run = header >>> 1;
            if ((header & 1) == 0) {
                int value = 0;
                for (int i = 0; i < bytes; i++) {
                    value |= (in.get(at++) & 0xFF) << (8 * i);
                }
                Arrays.fill(out, n, Math.min(count, n + run), value);
                n += run;
            } else {
                if (n + 8 * run > count + 7 || at + run * width > in.limit()) {
                    throw new IOException("a bit-packed run of " + 8 * run + " values overruns its page ("
                            + (count - n) + " values left)");
                }
                for (int g = 0; g < run; g++, at += width, n += 8) {
                    packer.unpack8Values(in, at, out, n);
                }
            }
        }
    }
}

package dev.shoal.ml;

import java.io.Serializable;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.Params;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructType;

/**
 * The column Params that ShoalClassifier and its model share, named and defaulted as Spark's classifiers name
 * them, and the schema checks both make.
 */
final class Columns implements Serializable {
    private final Param<String> features;
    private final Param<String> prediction;
    private final Param<String> probability;
    private final Param<String> rawPrediction;

    Columns(Params owner) {
        features = new Param<>(owner, "featuresCol", "features column name: an ML Vector or an array of numbers");
        prediction = new Param<>(owner, "predictionCol", "prediction column name: the most probable class");
        probability = new Param<>(owner, "probabilityCol", "column name for the predicted class probabilities");
        rawPrediction = new Param<>(owner, "rawPredictionCol", "raw prediction column name: the log of each "
                + "class probability (the network's outputs are probabilities; their log is a monotone score)");
    }

    Param<String> features() {
        return features;
    }

    Param<String> prediction() {
        return prediction;
    }

    Param<String> probability() {
        return probability;
    }

    Param<String> rawPrediction() {
        return rawPrediction;
    }

    List<Param<String>> params() {
        return List.of(features, prediction, probability, rawPrediction);
    }

    /** Spark's names: features, prediction, probability, rawPrediction. */
    Map<Param<String>, String> defaults() {
        Map<Param<String>, String> d = new LinkedHashMap<>();
        d.put(features, "features");
        d.put(prediction, "prediction");
        d.put(probability, "probability");
        d.put(rawPrediction, "rawPrediction");
        return d;
    }

    /**
     * {@code schema} with the output columns appended, after checking that the features column holds vectors
     * or arrays of numbers and that no output column exists yet.
     */
    StructType outputSchema(Params owner, StructType schema) {
        String x = owner.getOrDefault(features);
        DataType type = type(schema, x, "featuresCol");
        if (!(type instanceof VectorUDT || type instanceof ArrayType a && a.elementType() instanceof NumericType)) {
            throw new IllegalArgumentException("featuresCol '" + x + "' is " + type.simpleString()
                    + "; expected an ML Vector or an array of numbers");
        }
        StructType out = schema;
        for (Param<String> p : List.of(rawPrediction, probability, prediction)) {
            String name = owner.getOrDefault(p);
            if (Arrays.asList(schema.fieldNames()).contains(name)) {
                throw new IllegalArgumentException(p.name() + " '" + name + "' already exists in the input "
                        + "columns " + Arrays.toString(schema.fieldNames()));
            }
            out = out.add(name, p == prediction ? DataTypes.DoubleType : SQLDataTypes.VectorType(), false);
        }
        return out;
    }

    /** Checks that {@code column} exists in {@code schema} and holds values of {@code expected}. */
    static void requireType(StructType schema, String column, String param, DataType expected) {
        DataType type = type(schema, column, param);
        if (!type.equals(expected)) {
            throw new IllegalArgumentException(param + " '" + column + "' is " + type.simpleString()
                    + "; expected " + expected.simpleString());
        }
    }

    /** Checks that {@code column} exists in {@code schema} and holds numbers. */
    static void requireNumeric(StructType schema, String column, String param) {
        DataType type = type(schema, column, param);
        if (!(type instanceof NumericType)) {
            throw new IllegalArgumentException(param + " '" + column + "' is " + type.simpleString()
                    + "; expected numbers (class indices)");
        }
    }

    private static DataType type(StructType schema, String column, String param) {
        if (!Arrays.asList(schema.fieldNames()).contains(column)) {
            throw new IllegalArgumentException(param + " '" + column + "' is not a column; the columns are "
                    + Arrays.toString(schema.fieldNames()));
        }
        return schema.apply(column).dataType();
    }
}

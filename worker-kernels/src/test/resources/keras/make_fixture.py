#!/usr/bin/python3
"""Writes mlp.h5, a small Keras Sequential model in the HDF5 layout of Keras 2 (tf.keras 2.x `model.save("m.h5")`),
and mlp.expected.json: a few inputs and the outputs the model gives them, computed here with numpy; and linear.h5,
a 12 -> 3 model whose last layer has no softmax (a regression head), which Shoal must refuse as a classifier.

Keras itself is not installable on the build machine (no TensorFlow package in Debian), so the file is written
with h5py in the layout Keras writes: the architecture as JSON in the root attribute `model_config`, the loss in
`training_config`, and each layer's weights under `model_weights/<layer>/<layer>/<name>:0`, kernels stored
inputs x units as Keras keeps them. Shoal's tests import it with DL4J's Keras import and compare the outputs.

Run (Debian: apt-get install python3-h5py python3-numpy) from this folder: /usr/bin/python3 make_fixture.py
"""
import json

import h5py
import numpy as np

INPUTS, HIDDEN, CLASSES = 784, 16, 10
rng = np.random.default_rng(20261123)


def dense(name, units, activation, inputs=None):
    config = {"name": name, "trainable": True, "dtype": "float32", "units": units, "activation": activation,
              "use_bias": True,
              "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
              "bias_initializer": {"class_name": "Zeros", "config": {}},
              "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
              "kernel_constraint": None, "bias_constraint": None}
    if inputs is not None:
        config["batch_input_shape"] = [None, inputs]
    return {"class_name": "Dense", "config": config}


layers = [("dense", INPUTS, HIDDEN, "tanh"), ("dense_1", HIDDEN, CLASSES, "softmax")]
weights = {}
for name, fan_in, units, _ in layers:
    limit = np.sqrt(6.0 / (fan_in + units))
    weights[name] = (rng.uniform(-limit, limit, (fan_in, units)).astype(np.float32),
                     rng.uniform(-0.1, 0.1, units).astype(np.float32))

training_config = {"loss": "categorical_crossentropy", "metrics": ["accuracy"], "weighted_metrics": None,
                   "loss_weights": None, "sample_weight_mode": None,
                   "optimizer_config": {"class_name": "Adam", "config": {
                       "name": "Adam", "learning_rate": 0.001, "decay": 0.0, "beta_1": 0.9, "beta_2": 0.999,
                       "epsilon": 1e-07, "amsgrad": False}}}


def save(path, layers, weights):
    model_config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        dense(name, units, activation, fan_in if i == 0 else None)
        for i, (name, fan_in, units, activation) in enumerate(layers)]}}
    with h5py.File(path, "w") as f:
        # Keras writes its attributes as UTF-8 bytes (fixed-length HDF5 strings).
        f.attrs["keras_version"] = b"2.4.0"
        f.attrs["backend"] = b"tensorflow"
        f.attrs["model_config"] = json.dumps(model_config).encode()
        f.attrs["training_config"] = json.dumps(training_config).encode()
        root = f.create_group("model_weights")
        root.attrs["keras_version"] = b"2.4.0"
        root.attrs["backend"] = b"tensorflow"
        root.attrs["layer_names"] = np.array([name.encode() for name, *_ in layers])
        for name, *_ in layers:
            group = root.create_group(name)
            group.attrs["weight_names"] = np.array([f"{name}/kernel:0".encode(), f"{name}/bias:0".encode()])
            kernel, bias = weights[name]
            group.create_dataset(f"{name}/kernel:0", data=kernel)
            group.create_dataset(f"{name}/bias:0", data=bias)


save("mlp.h5", layers, weights)
other = np.random.default_rng(7)  # its own generator: mlp.h5 and its expected outputs stay as they were
save("linear.h5", [("dense", 12, 3, "linear")],
     {"dense": (other.uniform(-0.5, 0.5, (12, 3)).astype(np.float32), np.zeros(3, np.float32))})

# Pixel-like inputs in [0, 1] with three decimals; the model sees them as float32, as DL4J will.
inputs = np.round(rng.uniform(0, 1, (3, INPUTS)), 3)
x = inputs.astype(np.float32)
h = np.tanh(x @ weights["dense"][0] + weights["dense"][1])
z = h @ weights["dense_1"][0] + weights["dense_1"][1]
y = np.exp(z - z.max(axis=1, keepdims=True))
y /= y.sum(axis=1, keepdims=True)
with open("mlp.expected.json", "w") as out:
    json.dump({"inputs": inputs.tolist(), "outputs": y.astype(float).tolist()}, out)
print("wrote mlp.h5, mlp.expected.json and linear.h5")

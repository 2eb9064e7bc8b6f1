# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false}
# # Week 04 — Convolutional networks on cloud pictures; models with two inputs and two outputs
#
# Last week we trained a small network on a table of numbers. This week the data become
# pictures, and the network learns to look at them through small sliding filters:
# a **convolutional neural network** (CNN).
#
# This week you will:
#
# 1. write your own `Dataset` class and a class-based network with batch normalisation and
#    Kaiming initialisation (the water data of week 03);
# 2. turn pictures into tensors by hand and with `torchvision`, load a folder of pictures with
#    `ImageFolder`, and build a data-augmentation pipeline that is used for training only;
# 3. compute a convolution, padding, strides and max pooling by hand, and count the parameters
#    of convolutional and linear layers;
# 4. build and train a CNN that tells seven kinds of cloud apart;
# 5. measure it class by class with precision, recall and F1, averaged three ways;
# 6. build a network with **two inputs** (a picture and a one-hot vector) and one with **two
#    outputs**, and combine two losses with weights on a common scale.
#
# **How to work.** Fill in every place marked `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line). Keep the names and arguments of the given functions and
# classes: the grader calls them by name. Run the notebook from top to bottom; the *Check* cells
# test a few cases for you. The grader runs more tests that you do not see: it compares your
# functions with PyTorch and scikit-learn on other inputs, and measures your trained cloud
# classifier on pictures it keeps to itself.

# %% nbgrader={"grade": false, "grade_id": "parameters", "locked": true, "schema_version": 3, "solution": false} tags=["parameters"]
# Settings the grader may change when it runs your notebook. Do not edit this cell.
SEED = 0             # seed for every random number generator used below
FAST = False         # True: a shorter training run with a slimmer network (used while grading)
DEVICE = "cpu"       # "cuda" to train the cloud classifier on a GPU
DATA_DIR = "data"    # folder that holds water_potability.csv and clouds.zip
IMG_SIZE = 32        # side of the square pictures fed to the CNN
EPOCHS = 15          # training epochs of the cloud classifier in the full run (FAST uses fewer)
BATCH_SIZE = 16

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false}
import math
import os
import zipfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn import init
from torch.utils.data import DataLoader, Dataset
from PIL import Image
from torchvision import transforms
from torchvision.datasets import ImageFolder

torch.manual_seed(SEED)
np.random.seed(SEED)
print("torch", torch.__version__, "| device", DEVICE)

# %% [markdown] nbgrader={"grade": false, "grade_id": "dataset_md", "locked": true, "schema_version": 3, "solution": false}
# ## 1. Your own `Dataset`
#
# A `DataLoader` needs only two things from a data set: how many samples there are, and the
# sample with a given index. A class that inherits from `torch.utils.data.Dataset` provides them
# with three methods:
#
# * `__init__`: loads the data (from a CSV file, or an array already in memory) and keeps it in
#   the object. Call the parent's constructor first, `super().__init__()`;
# * `__len__`: the number of samples;
# * `__getitem__(idx)`: the sample number `idx` as a **tuple**, here `(features, label)`.
#
# The cell below prepares last week's water table once more: it fills the missing values with the
# training medians and scales every column to $[0, 1]$ with the training minima and maxima. The
# result is a matrix with one row per sample, the nine features first and the 0/1 label in the
# last column; it is also written to `water_train_prepared.csv`.
#
# **Task.** Write `WaterDataset`. It takes either the path of such a CSV file (one header line,
# then comma-separated numbers) or the matrix itself.

# %% nbgrader={"grade": false, "grade_id": "water_data", "locked": true, "schema_version": 3, "solution": false}
raw = np.genfromtxt(os.path.join(DATA_DIR, "water_potability.csv"), delimiter=",", skip_header=1)
rng = np.random.default_rng(SEED)
order = rng.permutation(len(raw))
n_train = int(0.8 * len(raw))
train_rows, test_rows = raw[order[:n_train]], raw[order[n_train:]]
medians = np.nanmedian(train_rows[:, :9], axis=0)


def prepare(rows: np.ndarray) -> np.ndarray:
    """Fill NaNs with the training medians, scale with the training minima and maxima; label last."""
    X = np.where(np.isnan(rows[:, :9]), medians, rows[:, :9])
    return np.column_stack([(X - lo) / (hi - lo), rows[:, 9]]).astype(np.float32)


filled_train = np.where(np.isnan(train_rows[:, :9]), medians, train_rows[:, :9])
lo, hi = filled_train.min(axis=0), filled_train.max(axis=0)
water_train, water_test = prepare(train_rows), prepare(test_rows)
np.savetxt("water_train_prepared.csv", water_train, delimiter=",", fmt="%.6f",
           header="ph,Hardness,Solids,Chloramines,Sulfate,Conductivity,Organic_carbon,Trihalomethanes,Turbidity,Potability",
           comments="")
print("prepared matrices:", water_train.shape, water_test.shape)


# %% nbgrader={"grade": false, "grade_id": "water_dataset", "locked": false, "schema_version": 3, "solution": true}
class WaterDataset(Dataset):
    """Samples (features, label) from a matrix whose last column is the label.

    `source` is the path of a CSV file (one header line, then numbers separated by commas) or
    a 2-D array. All columns but the last are the features.
    """

    def __init__(self, source):
        """Keep the features as a float32 tensor (n, columns - 1) and the labels as a float32
        tensor (n, 1)."""
        ### BEGIN SOLUTION
        super().__init__()
        if isinstance(source, (str, os.PathLike)):
            data = np.loadtxt(source, delimiter=",", skiprows=1, ndmin=2)
        else:
            data = np.asarray(source)
        self.features = torch.tensor(data[:, :-1], dtype=torch.float32)
        self.labels = torch.tensor(data[:, -1:], dtype=torch.float32)
        ### END SOLUTION

    def __len__(self) -> int:
        ### BEGIN SOLUTION
        return self.labels.shape[0]
        ### END SOLUTION

    def __getitem__(self, idx: int) -> tuple:
        """The tuple (features of shape (columns - 1,), label of shape (1,)), both float32."""
        ### BEGIN SOLUTION
        return self.features[idx], self.labels[idx]
        ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "water_dataset_demo", "locked": true, "schema_version": 3, "solution": false}
water_train_set = WaterDataset("water_train_prepared.csv")
water_test_set = WaterDataset(water_test)
water_loader = DataLoader(water_train_set, batch_size=32, shuffle=True,
                          generator=torch.Generator().manual_seed(SEED))
features, labels = next(iter(water_loader))
print(len(water_train_set), "training samples; one batch:", tuple(features.shape), tuple(labels.shape))

# %% nbgrader={"grade": true, "grade_id": "check_water_dataset", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert len(water_train_set) == len(water_train), "len(dataset) is the number of rows"
_sample = water_test_set[3]
assert isinstance(_sample, tuple) and len(_sample) == 2, "a sample is the tuple (features, label)"
assert tuple(_sample[0].shape) == (9,) and tuple(_sample[1].shape) == (1,), "features have shape (9,), the label shape (1,)"
assert _sample[0].dtype == torch.float32 and _sample[1].dtype == torch.float32, "features and label should be float32"
assert torch.allclose(_sample[0], torch.tensor(water_test[3, :9])), "the features of sample 3 are row 3 without its last column"
assert torch.allclose(water_train_set[0][0], torch.tensor(water_train[0, :9]), atol=1e-5), "the CSV holds the same rows as water_train"
assert tuple(features.shape) == (32, 9) and tuple(labels.shape) == (32, 1), "a DataLoader batch: features (32, 9), labels (32, 1)"
print("dataset: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "checkpoint_md", "locked": true, "schema_version": 3, "solution": false}
# ### Checkpoint
#
# A data set for a model with two inputs (a picture and an alphabet, Section 8) returns samples
# `(img, alpha, label)`. Which loop is right?
#
# A. `for img, alpha, labels in dataloader_train: outputs = net(img, alpha)`
# B. `for img, alpha, labels in dataloader_train: outputs = net(img)`
# C. `for img, alpha in dataloader_train: outputs = net(img, alpha)`
# D. `for img, alpha in dataloader_train: outputs = net(img)`
#
# <details><summary>Answer</summary>
#
# **A**: every sample is a triple, so the loop unpacks three tensors, and the network takes both
# inputs.
# </details>

# %% [markdown] nbgrader={"grade": false, "grade_id": "model_md", "locked": true, "schema_version": 3, "solution": false}
# ## 2. Class-based models
#
# `nn.Sequential(nn.Linear(9, 16), nn.ReLU(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 1), nn.Sigmoid())`
# can be written as a class. `__init__` creates the layers (after `super().__init__()`), and
# `forward(x)` says what happens to the input; the activations are plain functions from
# `torch.nn.functional`, imported as `F`:
#
# ```python
# class Net(nn.Module):
#     def __init__(self):
#         super().__init__()
#         self.fc1 = nn.Linear(9, 16)
#         self.fc2 = nn.Linear(16, 8)
#         self.fc3 = nn.Linear(8, 1)
#
#     def forward(self, x):
#         x = F.relu(self.fc1(x))
#         x = F.relu(self.fc2(x))
#         return F.sigmoid(self.fc3(x))
# ```
#
# The class form is more flexible: `forward` can branch, loop, or take two inputs (Section 8).
# (`torchvision.models` holds many famous networks written this way.)
#
# ### Unstable gradients
#
# Backpropagation multiplies one factor per layer. When these factors are small, the gradients
# **vanish**: the first layers barely change and the loss stops going down. When they are large,
# the gradients **explode**: the updates are too big and the loss grows. Three remedies:
#
# 1. **a good initialisation**: weights whose scale keeps the variance of the signal (and of the
#    gradients) the same from layer to layer. For ReLU layers that is **Kaiming (He)**
#    initialisation, `init.kaiming_uniform_(layer.weight)`: uniform on
#    $\pm\sqrt{6 / n_\text{in}}$, a variance of $2 / n_\text{in}$. (For sigmoid or tanh layers the
#    usual choice is Xavier/Glorot initialisation.)
# 2. **better activations** (ReLU and its relatives instead of saturating ones);
# 3. **batch normalisation**: a layer that standardises each of its inputs over the batch (mean
#    0, standard deviation 1), then scales and shifts it with two learnable numbers per feature.
#    It keeps the distributions of the layers' inputs in check *during* training, where the
#    initialisation only helps at the start. It goes **after a layer and before its
#    activation**, with as many features as the layer has outputs: `nn.BatchNorm1d(n)` after a
#    linear layer (inputs of shape `(batch, n)`), `nn.BatchNorm2d(c)` after a convolution
#    (4-D inputs `(batch, c, height, width)`). In evaluation mode it uses running averages
#    gathered during training instead of the batch's statistics.
#
# **Task.** Write `WaterNet`: `fc1` (9 → 16), `bn1`, `fc2` (16 → 8), `bn2`, `fc3` (8 → 1), ReLU
# after each batch norm, and a sigmoid at the end, so that the network returns probabilities.
# Initialise the three linear layers' weights with Kaiming's uniform initialisation.

# %% nbgrader={"grade": false, "grade_id": "water_net", "locked": false, "schema_version": 3, "solution": true}
class WaterNet(nn.Module):
    """9 -> 16 -> 8 -> 1: linear, batch norm, ReLU (twice), then linear and sigmoid."""

    def __init__(self):
        """Create fc1, bn1, fc2, bn2 and fc3; Kaiming-uniform weights for fc1, fc2 and fc3."""
        ### BEGIN SOLUTION
        super().__init__()
        self.fc1 = nn.Linear(9, 16)
        self.bn1 = nn.BatchNorm1d(16)
        self.fc2 = nn.Linear(16, 8)
        self.bn2 = nn.BatchNorm1d(8)
        self.fc3 = nn.Linear(8, 1)
        for layer in (self.fc1, self.fc2, self.fc3):
            init.kaiming_uniform_(layer.weight, nonlinearity="relu")
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Probabilities of shape (batch, 1) for features of shape (batch, 9)."""
        ### BEGIN SOLUTION
        x = F.relu(self.bn1(self.fc1(x)))
        x = F.relu(self.bn2(self.fc2(x)))
        return torch.sigmoid(self.fc3(x))
        ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "water_net_demo", "locked": true, "schema_version": 3, "solution": false}
torch.manual_seed(SEED)
water_net = WaterNet()
print(water_net)
water_optimizer = torch.optim.Adam(water_net.parameters(), lr=0.01)
bce = nn.BCELoss()   # the network outputs probabilities
water_losses = []
for epoch in range(3 if FAST else 10):
    total = 0.0
    for features, labels in water_loader:
        water_optimizer.zero_grad()
        loss = bce(water_net(features), labels)
        loss.backward()
        water_optimizer.step()
        total += loss.item()
    water_losses.append(total / len(water_loader))
water_net.eval()
with torch.no_grad():
    test_features, test_labels = next(iter(DataLoader(water_test_set, batch_size=len(water_test_set))))
    water_accuracy = ((water_net(test_features) > 0.5).float() == test_labels).float().mean().item()
print("training losses:", [round(v, 4) for v in water_losses], "| test accuracy:", round(water_accuracy, 3))

# %% nbgrader={"grade": true, "grade_id": "check_water_net", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert sum(p.numel() for p in water_net.parameters()) == 353, "WaterNet has 305 parameters in its linear layers and 2 * (16 + 8) in batch norm"
assert isinstance(water_net.bn1, nn.BatchNorm1d) and water_net.bn1.num_features == 16 and water_net.bn2.num_features == 8, \
    "bn1 and bn2 should be BatchNorm1d(16) and BatchNorm1d(8)"
_w = torch.cat([WaterNet().fc1.weight.detach().flatten() for _ in range(10)])
assert abs(_w.std().item() - math.sqrt(2 / 9)) < 0.06, \
    f"fc1's weights should have Kaiming's standard deviation sqrt(2 / 9) = 0.471, got {_w.std().item():.3f}"
_out = water_net(torch.rand(5, 9))
assert tuple(_out.shape) == (5, 1) and bool(((_out > 0) & (_out < 1)).all()), "WaterNet returns probabilities of shape (batch, 1)"
assert water_losses[-1] < water_losses[0], "the training loss should go down"
print("model: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "images_md", "locked": true, "schema_version": 3, "solution": false}
# ## 3. Pictures as tensors
#
# A picture is a grid of **pixels**. In a grayscale picture each pixel is one integer from 0
# (black) to 255 (white); in a colour picture it is three integers, the intensities of **r**ed,
# **g**reen and **b**lue (sometimes a fourth, **a**lpha, for transparency): $(52, 171, 235)$ is a
# sky blue. The `pillow` package (imported as `PIL`) opens picture files: `Image.open(path)`.
# A PIL picture converted with `np.asarray` has the shape `(height, width, channels)`, or
# `(height, width)` in grayscale.
#
# `torchvision.transforms` converts between the two worlds:
#
# * `ToTensor()`: a PIL picture to a **float32** tensor of shape `(channels, height, width)`,
#   the values divided by 255 so that they lie in $[0, 1]$;
# * `PILToTensor()`: the same shape, but **uint8** values that stay in $[0, 255]$;
# * `ToPILImage()`: back to a PIL picture, without changing the values.
#
# The channels come **first** in PyTorch, last in PIL, NumPy and matplotlib.
#
# **Task.** Write `to_tensor`, which does what `ToTensor()` does for pictures of 8-bit pixels
# (modes `L`, `RGB` and `RGBA`), with NumPy and torch operations only.

# %% nbgrader={"grade": false, "grade_id": "to_tensor", "locked": false, "schema_version": 3, "solution": true}
def to_tensor(image: Image.Image) -> torch.Tensor:
    """A float32 tensor (channels, height, width) with values pixel / 255, like transforms.ToTensor()."""
    ### BEGIN SOLUTION
    pixels = np.asarray(image)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    return torch.from_numpy(pixels.astype(np.float32) / 255.0).permute(2, 0, 1).contiguous()
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "to_tensor_demo", "locked": true, "schema_version": 3, "solution": false}
pixel = Image.new("RGB", (3, 2), (52, 171, 235))     # 3 pixels wide, 2 high, all sky blue
print("PILToTensor:", transforms.PILToTensor()(pixel).dtype, tuple(transforms.PILToTensor()(pixel).shape),
      transforms.PILToTensor()(pixel)[:, 0, 0].tolist())
print("ToTensor:   ", transforms.ToTensor()(pixel).dtype, [round(v, 4) for v in transforms.ToTensor()(pixel)[:, 0, 0].tolist()])
print("to_tensor:  ", [round(v, 4) for v in to_tensor(pixel)[:, 0, 0].tolist()])
print("back to PIL:", transforms.ToPILImage()(transforms.PILToTensor()(pixel)).getpixel((0, 0)))

# %% nbgrader={"grade": true, "grade_id": "check_to_tensor", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_pixels = np.random.default_rng(1).integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
_img = Image.fromarray(_pixels)
_t = to_tensor(_img)
assert tuple(_t.shape) == (3, 5, 7), f"a 7 x 5 RGB picture gives a tensor of shape (3, 5, 7), got {tuple(_t.shape)}"
assert _t.dtype == torch.float32, f"to_tensor returns float32, got {_t.dtype}"
assert torch.allclose(_t, transforms.ToTensor()(_img)), "to_tensor should agree with transforms.ToTensor()"
assert tuple(to_tensor(_img.convert("L")).shape) == (1, 5, 7), "a grayscale picture has one channel"
print("to_tensor: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "imagefolder_md", "locked": true, "schema_version": 3, "solution": false}
# ## 4. The clouds data and `ImageFolder`
#
# Our pictures show the sky, with seven kinds of cloud (or none). They come as a folder tree
# that is common for classification: one folder per split, one sub-folder per class, the picture
# files inside.
#
# ```text
# clouds/
#   clouds_train/
#     cirriform clouds/      3f0c2a1.png ...
#     clear sky/
#     cumulonimbus clouds/
#     ...
#   clouds_test/
#     cirriform clouds/
#     ...
# ```
#
# `torchvision.datasets.ImageFolder(root, transform=...)` turns such a tree into a `Dataset`:
# it sorts the class folders alphabetically, numbers them from 0 (`class_to_idx`), and returns
# `(transform(picture), class index)` for each file. The transform is usually a `Compose` of
# several steps, applied in order, for example `ToTensor()` and then `Resize((size, size))`,
# since the pictures have different sizes and a batch needs one.
#
# (Our pictures are drawn by a program, a stand-in for the photographs of the course; they
# come in a zip archive, unpacked below.) A batch of one picture has the shape
# `(1, 3, height, width)`: batch, channels, height, width. To show it with matplotlib, remove the
# batch dimension (`squeeze()`) and put the channels last (`permute(1, 2, 0)`).

# %% nbgrader={"grade": false, "grade_id": "imagefolder_demo", "locked": true, "schema_version": 3, "solution": false}
CLOUDS_DIR = os.path.join(DATA_DIR, "clouds")
if not os.path.isdir(CLOUDS_DIR):
    with zipfile.ZipFile(os.path.join(DATA_DIR, "clouds.zip")) as archive:
        archive.extractall(DATA_DIR)

plain_transforms = transforms.Compose([transforms.ToTensor(), transforms.Resize((IMG_SIZE, IMG_SIZE))])
preview_set = ImageFolder(os.path.join(CLOUDS_DIR, "clouds_train"), transform=plain_transforms)
print(len(preview_set), "training pictures;", preview_set.class_to_idx)
image, label = next(iter(DataLoader(preview_set, batch_size=1, shuffle=True,
                                    generator=torch.Generator().manual_seed(SEED))))
print("one batch:", tuple(image.shape), "-> for matplotlib:", tuple(image.squeeze().permute(1, 2, 0).shape))
if not FAST:
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 7, figsize=(14, 2.4))
    for ax, cls in zip(axes, range(7)):
        index = preview_set.targets.index(cls)
        ax.imshow(preview_set[index][0].permute(1, 2, 0))
        ax.set_title(preview_set.classes[cls], fontsize=8)
        ax.axis("off")
    plt.show()

# %% [markdown] nbgrader={"grade": false, "grade_id": "augment_md", "locked": true, "schema_version": 3, "solution": false}
# ## 5. Data augmentation
#
# **Data augmentation** applies random transformations to the training pictures, so that every
# epoch the network sees slightly different versions of them: more and more varied training
# data, a more robust model, less overfitting. It creates no new information, though: where real
# extra data can be had, it is better. Augmentation is for the **training set only**: the
# validation and test pictures are what the model will meet, so they are only converted and
# resized, the same way every time (a deterministic transform).
#
# An augmentation must not change what the picture shows. A colour shift turns a yellow lemon
# into a green lime, still labelled "lemon"; a vertical flip turns a handwritten "6" into
# something else. For our skies:
#
# * a **horizontal flip** (`RandomHorizontalFlip()`), a moderate **rotation**
#   (`RandomRotation(45)`) and **autocontrast** (`RandomAutocontrast()`, another light) keep
#   the kind of cloud: they simulate other viewpoints, angles and lighting;
# * a **vertical flip** puts the ground at the top and a cumulonimbus' flat anvil under its
#   tower, and **colour jitter** (`ColorJitter`, grayscale, inversion, solarisation) can darken
#   a white cumulus into a grey stratocumulus or a cumulonimbus: these change the label.
#
# **Task.** Write `build_transforms(image_size, train)`. For training: a random horizontal flip,
# a random rotation of at most 45 degrees and random autocontrast, then conversion to a tensor and
# resizing to `(image_size, image_size)`. For evaluation: only the conversion and the resizing.
# Both return float32 tensors of shape `(3, image_size, image_size)` with values in $[0, 1]$.

# %% nbgrader={"grade": false, "grade_id": "build_transforms", "locked": false, "schema_version": 3, "solution": true}
def build_transforms(image_size: int, train: bool) -> transforms.Compose:
    """The transform of the training pictures (train=True: augmentation, then tensor and resize)
    or of the evaluation pictures (train=False: tensor and resize only)."""
    ### BEGIN SOLUTION
    steps = []
    if train:
        steps += [transforms.RandomHorizontalFlip(), transforms.RandomRotation(45), transforms.RandomAutocontrast()]
    steps += [transforms.ToTensor(), transforms.Resize((image_size, image_size))]
    return transforms.Compose(steps)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "clouds_loaders", "locked": true, "schema_version": 3, "solution": false}
train_transforms = build_transforms(IMG_SIZE, train=True)
eval_transforms = build_transforms(IMG_SIZE, train=False)
train_set = ImageFolder(os.path.join(CLOUDS_DIR, "clouds_train"), transform=train_transforms)
test_set = ImageFolder(os.path.join(CLOUDS_DIR, "clouds_test"), transform=eval_transforms)
train_loader = DataLoader(train_set, batch_size=BATCH_SIZE, shuffle=True,
                          generator=torch.Generator().manual_seed(SEED))
test_loader = DataLoader(test_set, batch_size=64)
print(train_transforms)
print(len(train_set), "training and", len(test_set), "test pictures in", len(train_set.classes), "classes")

# %% nbgrader={"grade": true, "grade_id": "check_transforms", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_picture = Image.open(train_set.samples[0][0]).convert("RGB")
_a, _b = eval_transforms(_picture), eval_transforms(_picture)
assert tuple(_a.shape) == (3, IMG_SIZE, IMG_SIZE) and _a.dtype == torch.float32, \
    f"the evaluation transform should give float32 tensors (3, {IMG_SIZE}, {IMG_SIZE}), got {_a.dtype} {tuple(_a.shape)}"
assert torch.equal(_a, _b), "the evaluation transform should be deterministic: the same picture gives the same tensor"
_draws = [train_transforms(_picture) for _ in range(6)]
assert all(tuple(_d.shape) == (3, IMG_SIZE, IMG_SIZE) for _d in _draws), "the training transform should give the same shape"
assert any(not torch.equal(_draws[0], _d) for _d in _draws[1:]), "the training transform should be random (augmentation)"
assert float(_a.min()) >= 0 and float(_a.max()) <= 1, "pixel values should lie in [0, 1]"
print("transforms: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "cnn_md", "locked": true, "schema_version": 3, "solution": false}
# ## 6. Convolution
#
# Why not feed the pixels to linear layers? A $256 \times 256$ grayscale picture has 65,536
# inputs; a first linear layer of 1,000 neurons would have $65{,}536 \cdot 1{,}000 + 1{,}000 =
# 65{,}537{,}000$ parameters (three times more for a colour picture): slow, memory-hungry, and
# prone to overfitting. More subtly, linear layers are not **space-invariant**: a cat learned in
# one corner is not recognised in another, because other weights look there.
#
# A **convolutional layer** keeps its parameters in small grids, **filters** (kernels), and
# **slides** each filter over the input. At every position it multiplies the filter with the
# patch of the input under it, element by element, and adds up: one output number. (Strictly
# speaking this is a *cross-correlation*; deep learning calls it convolution.) One filter
# gives one **feature map**, which keeps the spatial layout of the input; a layer with 32
# filters gives 32 feature maps, the channels of its output. The same few weights are used
# everywhere, which makes the layer cheap and space-invariant.
#
# `nn.Conv2d(in_channels=3, out_channels=32, kernel_size=3)` has 32 filters of shape
# $3 \times 3 \times 3$ (one $3 \times 3$ grid per input channel) and a bias per filter:
# $32 \cdot 3 \cdot 3 \cdot 3 + 32 = 896$ parameters, whatever the size of the picture.
#
# * **Zero padding** adds a frame of `padding` zeros around the input, so that border pixels are
#   covered as often as the others and, with `kernel_size=3, padding=1`, the output keeps the
#   input's height and width.
# * The **stride** is the step of the slide; 2 skips every other position.
# * The output size along one side is $\lfloor (n + 2p - k) / s \rfloor + 1$ for an input of size
#   $n$, a kernel of size $k$, padding $p$ and stride $s$.
# * **Max pooling** (`nn.MaxPool2d(kernel_size=2)`) slides a window over each feature map, by
#   default without overlap (the stride equals the window size), and keeps the largest value of
#   every window: it halves the height and width and keeps the strongest responses.
#
# **Several input channels.** The "2D" in `Conv2d` is the space in which the filter moves, not
# the shape of its input: a filter has one 2-D grid per input channel, each slides over its own
# channel, and the results are added up. With the channels
# $X_0 = \begin{pmatrix}0&1&2\\3&4&5\\6&7&8\end{pmatrix}$,
# $X_1 = \begin{pmatrix}1&2&3\\4&5&6\\7&8&9\end{pmatrix}$ and the kernels
# $K_0 = \begin{pmatrix}0&1\\2&3\end{pmatrix}$, $K_1 = \begin{pmatrix}1&2\\3&4\end{pmatrix}$, the top-left
# output is $(0 \cdot 0 + 1 \cdot 1 + 3 \cdot 2 + 4 \cdot 3) + (1 \cdot 1 + 2 \cdot 2 + 4 \cdot 3 + 5 \cdot 4) = 19 + 37 = 56$,
# and the whole output is $\begin{pmatrix}56 & 72\\104 & 120\end{pmatrix}$.
#
# **Task.** Write, with loops or tensor slicing (no `F.conv2d`, `F.pad`, `nn.Conv2d`,
# `F.max_pool2d` or `unfold`):
#
# * `corr2d(X, K, padding, stride)`: one 2-D input `(height, width)`, one 2-D kernel (not
#   necessarily square);
# * `corr2d_multi_in(X, K, padding, stride)`: input `(channels, height, width)`, kernel
#   `(channels, kh, kw)`, the per-channel results added up;
# * `conv_output_size(size, kernel_size, padding, stride)` with the formula above;
# * `max_pool2d(X, kernel_size, stride)` on a 2-D input; `stride=None` means `stride = kernel_size`,
#   and windows that do not fit are dropped, like `F.max_pool2d`;
# * `conv2d_param_count` and `linear_param_count`, the number of parameters of
#   `nn.Conv2d(in_channels, out_channels, kernel_size, bias=bias)` (square kernels) and of
#   `nn.Linear(in_features, out_features)`.

# %% nbgrader={"grade": false, "grade_id": "convolution", "locked": false, "schema_version": 3, "solution": true}
def corr2d(X: torch.Tensor, K: torch.Tensor, padding: int = 0, stride: int = 1) -> torch.Tensor:
    """2-D cross-correlation of X (h, w) with K (kh, kw), zero padding `padding` on every side,
    step `stride` in both directions. Returns a tensor of X's dtype."""
    ### BEGIN SOLUTION
    if padding > 0:
        padded = torch.zeros(X.shape[0] + 2 * padding, X.shape[1] + 2 * padding, dtype=X.dtype)
        padded[padding:padding + X.shape[0], padding:padding + X.shape[1]] = X
        X = padded
    kh, kw = K.shape
    out_h = (X.shape[0] - kh) // stride + 1
    out_w = (X.shape[1] - kw) // stride + 1
    Y = torch.zeros(out_h, out_w, dtype=X.dtype)
    for i in range(out_h):
        for j in range(out_w):
            Y[i, j] = (X[i * stride:i * stride + kh, j * stride:j * stride + kw] * K).sum()
    return Y
    ### END SOLUTION


def corr2d_multi_in(X: torch.Tensor, K: torch.Tensor, padding: int = 0, stride: int = 1) -> torch.Tensor:
    """Cross-correlation of X (c, h, w) with K (c, kh, kw): corr2d of every channel with its own
    kernel, added up over the channels. Returns a 2-D tensor."""
    ### BEGIN SOLUTION
    return sum(corr2d(x, k, padding, stride) for x, k in zip(X, K))
    ### END SOLUTION


def conv_output_size(size: int, kernel_size: int, padding: int = 0, stride: int = 1) -> int:
    """The output size along one side: floor((size + 2 * padding - kernel_size) / stride) + 1."""
    ### BEGIN SOLUTION
    return (size + 2 * padding - kernel_size) // stride + 1
    ### END SOLUTION


def max_pool2d(X: torch.Tensor, kernel_size: int, stride: int | None = None) -> torch.Tensor:
    """Max pooling of X (h, w) with square windows of side kernel_size; stride=None means
    stride = kernel_size (no overlap). Windows that do not fit entirely are dropped."""
    ### BEGIN SOLUTION
    if stride is None:
        stride = kernel_size
    out_h = (X.shape[0] - kernel_size) // stride + 1
    out_w = (X.shape[1] - kernel_size) // stride + 1
    Y = torch.zeros(out_h, out_w, dtype=X.dtype)
    for i in range(out_h):
        for j in range(out_w):
            Y[i, j] = X[i * stride:i * stride + kernel_size, j * stride:j * stride + kernel_size].max()
    return Y
    ### END SOLUTION


def conv2d_param_count(in_channels: int, out_channels: int, kernel_size: int, bias: bool = True) -> int:
    """Parameters of nn.Conv2d(in_channels, out_channels, kernel_size, bias=bias)."""
    ### BEGIN SOLUTION
    return out_channels * in_channels * kernel_size * kernel_size + (out_channels if bias else 0)
    ### END SOLUTION


def linear_param_count(in_features: int, out_features: int) -> int:
    """Parameters of nn.Linear(in_features, out_features) (weights and biases)."""
    ### BEGIN SOLUTION
    return in_features * out_features + out_features
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "convolution_demo", "locked": true, "schema_version": 3, "solution": false}
X_course = torch.tensor([[[0.0, 1, 2], [3, 4, 5], [6, 7, 8]], [[1.0, 2, 3], [4, 5, 6], [7, 8, 9]]])
K_course = torch.tensor([[[0.0, 1], [2, 3]], [[1.0, 2], [3, 4]]])
print("corr2d of channel 0:", corr2d(X_course[0], K_course[0]).tolist())
print("two channels:       ", corr2d_multi_in(X_course, K_course).tolist())
print("F.conv2d:           ", F.conv2d(X_course[None], K_course[None])[0, 0].tolist())
print("padding 1, stride 2:", corr2d_multi_in(X_course, K_course, padding=1, stride=2).tolist())
print("Conv2d(3, 32, 3):", conv2d_param_count(3, 32, 3), "parameters;",
      "Linear(256 * 256, 1000):", f"{linear_param_count(256 * 256, 1000):,}", "parameters")

# %% nbgrader={"grade": true, "grade_id": "check_convolution", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert corr2d(X_course[0], K_course[0]).tolist() == [[19.0, 25.0], [37.0, 43.0]], "corr2d of the first channel gives [[19, 25], [37, 43]]"
assert corr2d_multi_in(X_course, K_course).tolist() == [[56.0, 72.0], [104.0, 120.0]], "the course's two-channel example gives [[56, 72], [104, 120]]"
_X = torch.randn(6, 7, generator=torch.Generator().manual_seed(0))
_K = torch.randn(3, 2, generator=torch.Generator().manual_seed(1))
assert torch.allclose(corr2d(_X, _K, padding=1, stride=2), F.conv2d(_X[None, None], _K[None, None], padding=1, stride=2)[0, 0], atol=1e-5), \
    "corr2d(X, K, padding=1, stride=2) should agree with F.conv2d"
assert conv_output_size(32, 3, padding=1) == 32 and conv_output_size(7, 3, stride=2) == 3, "output sizes: (n + 2p - k) // s + 1"
assert torch.equal(max_pool2d(_X, 2), F.max_pool2d(_X[None], 2)[0]), "max_pool2d(X, 2) should agree with F.max_pool2d"
assert conv2d_param_count(3, 32, 3) == 896, "nn.Conv2d(3, 32, 3) has 896 parameters"
assert linear_param_count(256 * 256, 1000) == 65_537_000, "nn.Linear(65536, 1000) has 65,537,000 parameters"
print("convolution: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "architecture_md", "locked": true, "schema_version": 3, "solution": false}
# ## 7. A CNN for the clouds
#
# The usual architecture of a CNN classifier:
#
# 1. a convolution, 2. an activation (ReLU, ELU, ...), 3. max pooling; repeat these blocks, so
#    that the pictures get smaller and the channels more numerous, until the "depth" (the
#    number of feature maps) is much larger than the height and width;
# 4. `nn.Flatten()`: all feature maps into one vector per picture, a summary of its content;
# 5. one or more linear layers that map the summary to the class scores (logits).
#
# VGG-16, a famous network, is thirteen convolutions in five such blocks, then three linear
# layers. Ours is smaller:
#
# ```
# feature_extractor: Conv2d(3, c1, 3, padding=1) -> ELU -> MaxPool2d(2)
#                    -> Conv2d(c1, c2, 3, padding=1) -> ELU -> MaxPool2d(2) -> Flatten
# classifier:        Linear(c2 * (size / 4) * (size / 4), num_classes)
# ```
#
# With `(c1, c2) = (32, 64)`, 7 classes and $32 \times 32$ pictures it has 48,071 parameters
# ($64 \times 64$ pictures: 134,087); a linear layer alone from $3 \cdot 64 \cdot 64$ inputs to just
# 128 neurons would already have 1.6 million. (In grading mode we train a slimmer version,
# `(c1, c2) = (8, 16)`, to save time.)
#
# Training goes as in week 03, with `nn.CrossEntropyLoss` on the logits, but the batches must be
# moved to the model's device (`DEVICE`: the CPU, or a GPU). For the evaluation the model is
# switched to `model.eval()` and run under `torch.no_grad()`; the predicted class is the index of
# the largest logit.
#
# **Task.** Write `CloudNet` (the attribute names `feature_extractor` and `classifier` are
# required), `train_epoch` (one pass over the loader: zero the gradients, forward, loss, backward,
# step; returns the mean of the batch losses) and `predict` (returns the true labels and the
# predicted classes of all the loader's samples, in the loader's order, as NumPy int64 arrays).

# %% nbgrader={"grade": false, "grade_id": "cloud_net", "locked": false, "schema_version": 3, "solution": true}
class CloudNet(nn.Module):
    """Two blocks conv (3x3, padding 1) -> ELU -> max pool (2), flatten, one linear layer."""

    def __init__(self, num_classes: int = 7, image_size: int = 32, channels: tuple = (32, 64)):
        """feature_extractor: the two blocks and nn.Flatten(); classifier: the linear layer.
        image_size is divisible by 4."""
        ### BEGIN SOLUTION
        super().__init__()
        c1, c2 = channels
        self.feature_extractor = nn.Sequential(
            nn.Conv2d(3, c1, kernel_size=3, padding=1), nn.ELU(), nn.MaxPool2d(kernel_size=2),
            nn.Conv2d(c1, c2, kernel_size=3, padding=1), nn.ELU(), nn.MaxPool2d(kernel_size=2),
            nn.Flatten(),
        )
        self.classifier = nn.Linear(c2 * (image_size // 4) * (image_size // 4), num_classes)
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (batch, num_classes) for pictures (batch, 3, image_size, image_size)."""
        ### BEGIN SOLUTION
        return self.classifier(self.feature_extractor(x))
        ### END SOLUTION


def train_epoch(model: nn.Module, loader, criterion, optimizer, device) -> float:
    """One epoch in training mode on `device`; returns the mean of the batch losses (a float)."""
    ### BEGIN SOLUTION
    model.train()
    total = 0.0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        loss = criterion(model(images), labels)
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total / len(loader)
    ### END SOLUTION


def predict(model: nn.Module, loader, device) -> tuple:
    """(labels, predictions): two int64 NumPy arrays over all samples of the loader, in order;
    the model runs in eval mode on `device` without gradients."""
    ### BEGIN SOLUTION
    model.eval()
    all_labels, all_preds = [], []
    with torch.no_grad():
        for images, labels in loader:
            logits = model(images.to(device))
            all_preds.append(logits.argmax(dim=1).cpu())
            all_labels.append(labels.cpu())
    return torch.cat(all_labels).numpy().astype(np.int64), torch.cat(all_preds).numpy().astype(np.int64)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "cloud_training", "locked": true, "schema_version": 3, "solution": false}
print("CloudNet(7, 32) has", sum(p.numel() for p in CloudNet(7, 32).parameters()), "parameters;",
      "CloudNet(7, 64):", sum(p.numel() for p in CloudNet(7, 64).parameters()))
torch.manual_seed(SEED)
model = CloudNet(num_classes=len(train_set.classes), image_size=IMG_SIZE,
                 channels=(8, 16) if FAST else (32, 64)).to(DEVICE)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
n_epochs = 6 if FAST else EPOCHS
cloud_losses = []
for epoch in range(n_epochs):
    cloud_losses.append(train_epoch(model, train_loader, criterion, optimizer, DEVICE))
    print(f"epoch {epoch + 1:2d}: training loss {cloud_losses[-1]:.4f}")
y_true, y_pred = predict(model, test_loader, DEVICE)
print(f"test accuracy {(y_true == y_pred).mean():.3f} (one class in seven: {1 / 7:.3f})")

# %% nbgrader={"grade": true, "grade_id": "check_cloud_net", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_net = CloudNet(7, 32)
assert sum(p.numel() for p in _net.parameters()) == 48071, "CloudNet(7, 32) with channels (32, 64) has 48,071 parameters"
assert tuple(_net(torch.rand(2, 3, 32, 32)).shape) == (2, 7), "CloudNet(7, 32) maps (2, 3, 32, 32) to logits (2, 7)"
assert tuple(_net.feature_extractor(torch.rand(2, 3, 32, 32)).shape) == (2, 64 * 8 * 8), "the feature extractor ends flattened: (2, 4096)"
assert cloud_losses[-1] < cloud_losses[0], f"the training loss should go down, got {[round(v, 3) for v in cloud_losses]}"
assert y_true.shape == y_pred.shape == (len(test_set),), "predict returns one label and one prediction per test picture"
assert (y_true == np.array(test_set.targets)).all(), "predict returns the true labels in the loader's order"
assert (y_true == y_pred).mean() > 0.4, f"the CNN should do much better than chance (1/7), got accuracy {(y_true == y_pred).mean():.3f}"
print("CNN: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "conv_quiz_md", "locked": true, "schema_version": 3, "solution": false}
# **Which statements about convolutional layers are true?** (A) They keep spatial information
# between their inputs and outputs. (B) Zero padding lets border pixels count as much as the
# others. (C) In general they use fewer parameters than linear layers.
#
# <details><summary>Answer</summary>All three.</details>

# %% [markdown] nbgrader={"grade": false, "grade_id": "metrics_md", "locked": true, "schema_version": 3, "solution": false}
# ## 8. Precision, recall and F1 for many classes
#
# For each class $c$ count the true positives $TP_c$ (class $c$ predicted, and right), the false
# positives $FP_c$ (class $c$ predicted, but wrong) and the false negatives $FN_c$ (a sample of
# class $c$ predicted as another class). Then, per class,
#
# $$P_c = \frac{TP_c}{TP_c + FP_c}, \qquad R_c = \frac{TP_c}{TP_c + FN_c}, \qquad F1_c = \frac{2 P_c R_c}{P_c + R_c},$$
#
# with 0 wherever a denominator is 0 (a class never predicted has precision 0). The **support**
# of a class is its number of samples in the true labels, $TP_c + FN_c$; different supports mean
# imbalanced classes. One number for all classes comes from one of three **averages**:
#
# * **macro**: the plain mean of the per-class scores: every class counts the same, so errors
#   on small classes weigh as much as errors on large ones;
# * **weighted**: the mean of the per-class scores weighted by the supports, i.e.
#   $\sum_c \text{support}_c \cdot F1_c \, / \sum_c \text{support}_c$ (divided by the **total support**, not by the number
#   of classes): large classes count more;
# * **micro**: computed once from the counts summed over all classes,
#   $P = \sum TP / \sum (TP + FP)$ and so on. When every sample has exactly one true and one
#   predicted class, $\sum FP = \sum FN$ = the number of mistakes, so micro precision, recall and
#   F1 all equal the **accuracy**. Large classes dominate it.
#
# The course's example: true labels `[0, 1, 2, 2, 2]`, predictions `[0, 0, 2, 2, 1]`. Per class,
# $P = (0.5, 0, 1)$, $R = (1, 0, 0.6667)$, $F1 = (0.6667, 0, 0.8)$ with supports $(1, 1, 3)$. The
# averages: macro $P = 0.5$, $R = 0.5556$, $F1 = 0.4889$; weighted $P = 0.7$, $R = 0.6$,
# $F1 = (0.6667 + 0 + 3 \cdot 0.8) / 5 = 0.6133$; micro $P = R = F1 = 0.6$ (3 of 5 right).
# Libraries compute the same: `torchmetrics.F1Score(task="multiclass", num_classes=7,
# average=None | "micro" | "macro" | "weighted")`, or scikit-learn's `classification_report`.
#
# To read the per-class scores, match them with the class names: `test_set.class_to_idx` maps
# each name to its index. (In **multi-label** classification a sample may belong to several
# classes at once, as a paper has several authors; the counts are then made per label.)
#
# **Task.** Write `precision_recall_f1` (NumPy or plain Python; no scikit-learn or
# torchmetrics) and `per_class_scores`.

# %% nbgrader={"grade": false, "grade_id": "metrics", "locked": false, "schema_version": 3, "solution": true}
def precision_recall_f1(y_true, y_pred, num_classes: int, average: str | None = None) -> dict:
    """{"precision": ..., "recall": ..., "f1": ...} for labels and predictions in 0 .. num_classes - 1.

    average=None: lists of num_classes floats (one per class); "macro", "weighted" or "micro":
    floats. A score whose denominator is 0 counts as 0. Any other average: ValueError.
    """
    ### BEGIN SOLUTION
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    if average not in (None, "macro", "weighted", "micro"):
        raise ValueError(f"unknown average {average!r}")
    classes = np.arange(num_classes)
    tp = np.array([np.sum((y_pred == c) & (y_true == c)) for c in classes], dtype=float)
    fp = np.array([np.sum((y_pred == c) & (y_true != c)) for c in classes], dtype=float)
    fn = np.array([np.sum((y_pred != c) & (y_true == c)) for c in classes], dtype=float)

    def ratio(num, den):
        num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
        return np.divide(num, den, out=np.zeros_like(num), where=den > 0)

    if average == "micro":
        tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
    precision = ratio(tp, tp + fp)
    recall = ratio(tp, tp + fn)
    f1 = ratio(2 * precision * recall, precision + recall)
    if average == "micro":
        return {"precision": float(precision), "recall": float(recall), "f1": float(f1)}
    if average is None:
        return {"precision": precision.tolist(), "recall": recall.tolist(), "f1": f1.tolist()}
    weights = np.ones(num_classes) if average == "macro" else tp + fn
    return {name: float(np.sum(score * weights) / np.sum(weights))
            for name, score in (("precision", precision), ("recall", recall), ("f1", f1))}
    ### END SOLUTION


def per_class_scores(scores, class_to_idx: dict) -> dict:
    """{class name: score} from per-class scores indexed as in class_to_idx."""
    ### BEGIN SOLUTION
    return {name: float(scores[index]) for name, index in class_to_idx.items()}
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "metrics_demo", "locked": true, "schema_version": 3, "solution": false}
course_true, course_pred = [0, 1, 2, 2, 2], [0, 0, 2, 2, 1]
for average in (None, "micro", "macro", "weighted"):
    scores = precision_recall_f1(course_true, course_pred, 3, average)
    print(f"{str(average):9}", {k: np.round(v, 4).tolist() for k, v in scores.items()})
cloud_f1 = precision_recall_f1(y_true, y_pred, len(test_set.classes))["f1"]
for name, score in per_class_scores(cloud_f1, test_set.class_to_idx).items():
    print(f"  F1 of {name:24} {score:.3f}")

# %% nbgrader={"grade": true, "grade_id": "check_metrics", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_per = precision_recall_f1(course_true, course_pred, 3)
assert np.allclose(_per["precision"], [0.5, 0, 1]) and np.allclose(_per["recall"], [1, 0, 2 / 3]), "per class: P = (0.5, 0, 1), R = (1, 0, 0.6667)"
assert np.allclose(_per["f1"], [2 / 3, 0, 0.8]), "per-class F1 = (0.6667, 0, 0.8)"
assert abs(precision_recall_f1(course_true, course_pred, 3, "macro")["f1"] - 0.4889) < 1e-4, "macro F1 of the course's example is 0.4889"
assert abs(precision_recall_f1(course_true, course_pred, 3, "weighted")["f1"] - 0.6133) < 1e-4, \
    "weighted F1 of the course's example is 0.6133 (weights: the supports, divided by their total 5)"
assert abs(precision_recall_f1(course_true, course_pred, 3, "micro")["precision"] - 0.6) < 1e-9, "micro precision = accuracy = 0.6"
assert per_class_scores([0.1, 0.2], {"b": 0, "a": 1}) == {"b": 0.1, "a": 0.2}, "per_class_scores maps names to their scores"
assert list(test_set.class_to_idx) == ["cirriform clouds", "clear sky", "cumulonimbus clouds", "cumulus clouds",
                                       "high cumuliform clouds", "stratiform clouds", "stratocumulus clouds"]
print("metrics: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "multi_input_md", "locked": true, "schema_version": 3, "solution": false}
# ## 9. Models with two inputs
#
# Some models take several sources of data at once: two photos of the same car to tell its
# model, a picture and a question about it (a **multi-modal** model), or two faces to tell
# whether they are the same person (**metric learning**, as at passport control). The recipe:
# process each input with its own sub-network, **concatenate** the results
# (`torch.cat((a, b), dim=1)`), and pass the joint vector to a final classifier.
#
# The **Omniglot** data set holds 964 handwritten characters from 30 alphabets. The task: given
# the picture of a character *and* its alphabet as a one-hot vector, tell which character it is.
#
# * The picture goes through a convolution, max pooling and an activation, is flattened, and a
#   linear layer maps it to 128 numbers.
# * The one-hot alphabet goes through a linear layer to 8 numbers and an activation.
# * A linear classifier maps the $128 + 8$ concatenated numbers to one logit per character.
#
# Omniglot cannot be downloaded here, so we use a small stand-in that ships with scikit-learn:
# $8 \times 8$ handwritten digits. Each digit is a "character", and the digits are grouped into
# three "alphabets": round ones (0, 6, 8, 9), straight ones (1, 4, 7) and curvy ones (2, 3, 5).
# The head sizes are arguments, so the same classes build the Omniglot networks (30 alphabets,
# 964 characters, $64 \times 64$ pictures: 2,229,756 parameters).
#
# **Task.** Write `TwoInputNet` with the attributes `image_layer`, `alphabet_layer` and
# `classifier`:
#
# ```
# image_layer:    Conv2d(1, 16, 3, padding=1) -> MaxPool2d(2) -> ELU -> Flatten -> Linear(16 * (size / 2)^2, 128)
# alphabet_layer: Linear(n_alphabets, 8) -> ELU
# classifier:     Linear(128 + 8, n_chars)
# ```

# %% nbgrader={"grade": false, "grade_id": "glyph_data", "locked": true, "schema_version": 3, "solution": false}
# scikit-learn's `load_digits()` reads this file; reading it directly spares the import of scikit-learn
import importlib.util

DIGITS_FILE = os.path.join(os.path.dirname(importlib.util.find_spec("sklearn").origin), "datasets", "data", "digits.csv.gz")
digits = np.loadtxt(DIGITS_FILE, delimiter=",")                # 1797 rows: 64 pixels (0-16), then the digit
ALPHABET_OF = [0, 1, 2, 2, 1, 2, 0, 1, 0, 0]      # digit -> "alphabet": round 0, straight 1, curvy 2
N_ALPHABETS, N_CHARS = 3, 10
glyph_images = torch.tensor(digits[:, :64].reshape(-1, 1, 8, 8) / 16.0, dtype=torch.float32)   # (1797, 1, 8, 8)
glyph_chars = torch.tensor(digits[:, 64], dtype=torch.int64)
glyph_alphabets = torch.tensor([ALPHABET_OF[int(d)] for d in digits[:, 64]], dtype=torch.int64)


class GlyphDataset(Dataset):
    """Samples (image, alphabet as a one-hot vector, character) or, with one_hot=False,
    (image, alphabet index, character)."""

    def __init__(self, indices, one_hot: bool = True):
        super().__init__()
        self.indices, self.one_hot = list(indices), one_hot

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, idx):
        i = self.indices[idx]
        alphabet = glyph_alphabets[i]
        if self.one_hot:
            alphabet = F.one_hot(alphabet, N_ALPHABETS).float()
        return glyph_images[i], alphabet, glyph_chars[i]


glyph_order = np.random.default_rng(SEED).permutation(len(glyph_chars))
glyph_train_idx = glyph_order[:600 if FAST else 1400]
glyph_test_idx = glyph_order[1400:]
print(len(glyph_train_idx), "training and", len(glyph_test_idx), "test glyphs")


# %% nbgrader={"grade": false, "grade_id": "two_input", "locked": false, "schema_version": 3, "solution": true}
class TwoInputNet(nn.Module):
    """A picture (batch, 1, image_size, image_size) and a one-hot alphabet (batch, n_alphabets)
    -> character logits (batch, n_chars)."""

    def __init__(self, n_alphabets: int = 30, n_chars: int = 964, image_size: int = 64):
        ### BEGIN SOLUTION
        super().__init__()
        self.image_layer = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=3, padding=1),
            nn.MaxPool2d(kernel_size=2),
            nn.ELU(),
            nn.Flatten(),
            nn.Linear(16 * (image_size // 2) * (image_size // 2), 128),
        )
        self.alphabet_layer = nn.Sequential(nn.Linear(n_alphabets, 8), nn.ELU())
        self.classifier = nn.Linear(128 + 8, n_chars)
        ### END SOLUTION

    def forward(self, image: torch.Tensor, alphabet: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        x_image = self.image_layer(image)
        x_alphabet = self.alphabet_layer(alphabet)
        return self.classifier(torch.cat((x_image, x_alphabet), dim=1))
        ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "two_input_training", "locked": true, "schema_version": 3, "solution": false}
print("Omniglot-sized TwoInputNet:", sum(p.numel() for p in TwoInputNet(30, 964, 64).parameters()), "parameters")
torch.manual_seed(SEED)
two_input = TwoInputNet(N_ALPHABETS, N_CHARS, image_size=8).to(DEVICE)
glyph_loader = DataLoader(GlyphDataset(glyph_train_idx), batch_size=32, shuffle=True,
                          generator=torch.Generator().manual_seed(SEED))
glyph_optimizer = torch.optim.Adam(two_input.parameters(), lr=3e-3)
for epoch in range(3 if FAST else 10):
    for img, alpha, labels in glyph_loader:            # the checkpoint's answer A
        img, alpha, labels = img.to(DEVICE), alpha.to(DEVICE), labels.to(DEVICE)
        glyph_optimizer.zero_grad()
        loss = F.cross_entropy(two_input(img, alpha), labels)
        loss.backward()
        glyph_optimizer.step()
two_input.eval()
with torch.no_grad():
    _test = GlyphDataset(glyph_test_idx)
    _imgs = torch.stack([_test[i][0] for i in range(len(_test))]).to(DEVICE)
    _alphas = torch.stack([_test[i][1] for i in range(len(_test))]).to(DEVICE)
    two_input_accuracy = (two_input(_imgs, _alphas).argmax(1).cpu() == glyph_chars[glyph_test_idx]).float().mean().item()
print(f"two-input model, character accuracy on the test glyphs: {two_input_accuracy:.3f}")

# %% nbgrader={"grade": true, "grade_id": "check_two_input", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_big = TwoInputNet(30, 964, 64)
assert sum(p.numel() for p in _big.parameters()) == 2_229_756, "TwoInputNet(30, 964, 64) has 2,229,756 parameters"
assert tuple(_big(torch.rand(2, 1, 64, 64), F.one_hot(torch.tensor([0, 29]), 30).float()).shape) == (2, 964), \
    "TwoInputNet(30, 964, 64) maps a batch of 2 to logits (2, 964)"
assert _big.classifier.in_features == 136, "the classifier takes the 128 + 8 concatenated numbers"
assert two_input_accuracy > 0.6, f"the two-input model should learn the digits, got accuracy {two_input_accuracy:.3f}"
print("two inputs: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "multi_output_md", "locked": true, "schema_version": 3, "solution": false}
# ## 10. Models with two outputs
#
# A model can also **predict several things** from the same input: the make and the model of a
# car from one photo; several labels at once (multi-label classification); or, in very deep
# networks, extra outputs after intermediate blocks that predict the same target, so that the
# early layers learn useful features too (a form of regularisation).
#
# Our second network reads only the picture and predicts both its **alphabet** and its
# **character**: one shared image sub-network, then two output layers (heads), and `forward`
# returns both outputs. Training needs two losses (and two metrics), one per head.
#
# **Task.** Write `TwoOutputNet` with the attributes `image_layer` (as in `TwoInputNet`),
# `classifier_alpha` (`Linear(128, n_alphabets)`) and `classifier_char` (`Linear(128, n_chars)`);
# `forward(image)` returns the tuple `(alphabet logits, character logits)`. Then write
# `evaluate_two_output(model, loader, device)`, the accuracies of both heads (in eval mode,
# without gradients) on a loader of samples `(image, alphabet, character)`.

# %% nbgrader={"grade": false, "grade_id": "two_output", "locked": false, "schema_version": 3, "solution": true}
class TwoOutputNet(nn.Module):
    """A picture (batch, 1, image_size, image_size) -> (alphabet logits (batch, n_alphabets),
    character logits (batch, n_chars))."""

    def __init__(self, n_alphabets: int = 30, n_chars: int = 964, image_size: int = 64):
        ### BEGIN SOLUTION
        super().__init__()
        self.image_layer = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=3, padding=1),
            nn.MaxPool2d(kernel_size=2),
            nn.ELU(),
            nn.Flatten(),
            nn.Linear(16 * (image_size // 2) * (image_size // 2), 128),
        )
        self.classifier_alpha = nn.Linear(128, n_alphabets)
        self.classifier_char = nn.Linear(128, n_chars)
        ### END SOLUTION

    def forward(self, image: torch.Tensor) -> tuple:
        ### BEGIN SOLUTION
        x = self.image_layer(image)
        return self.classifier_alpha(x), self.classifier_char(x)
        ### END SOLUTION


def evaluate_two_output(model: nn.Module, loader, device) -> tuple:
    """(alphabet accuracy, character accuracy) as floats over all samples (image, alphabet,
    character) of the loader; eval mode, no gradients, on `device`."""
    ### BEGIN SOLUTION
    model.eval()
    correct_alpha, correct_char, count = 0, 0, 0
    with torch.no_grad():
        for images, alphabets, chars in loader:
            out_alpha, out_char = model(images.to(device))
            correct_alpha += (out_alpha.argmax(dim=1).cpu() == alphabets).sum().item()
            correct_char += (out_char.argmax(dim=1).cpu() == chars).sum().item()
            count += len(chars)
    return correct_alpha / count, correct_char / count
    ### END SOLUTION


# %% [markdown] nbgrader={"grade": false, "grade_id": "loss_weighting_md", "locked": true, "schema_version": 3, "solution": false}
# ### Weighting the losses
#
# With two losses we must decide how to combine them into the one number that `backward()`
# starts from. The simplest, `loss = loss_alpha + loss_char`, treats both tasks as equally
# important: its advantage and its drawback at once. Telling the alphabet (3 classes here, 30
# in Omniglot) should be easier than telling the character, so we may give the character loss
# more weight, `loss_alpha + 2 * loss_char`; it is better for the optimisation (the learning
# rate keeps its meaning) when the weights add up to 1: `0.33 * loss_alpha + 0.67 * loss_char`,
# or in general
#
# $$\text{loss} = (1 - w_\text{char}) \cdot \text{loss}_\text{alpha} + w_\text{char} \cdot \text{loss}_\text{char}.$$
#
# **Losses on different scales.** Weights only mean something when the losses are comparable.
# Predicting a house's price (MSE, in the tens of thousands) and its quality class
# (cross-entropy, a few units) with the plain sum, the model ignores the quality task. The losses
# must be brought to a common scale first. A tempting line, `loss_price / torch.max(loss_price)`,
# does nothing useful: the loss of a batch is a single number, its maximum is itself, and the
# quotient is always exactly 1, with a gradient of 0. Divide instead by a **fixed reference
# scale**, for example the largest loss value seen so far, taken as a plain number (detached from
# the graph), so that the gradient flows through the numerator only:
# $\text{loss} / \max(\text{losses so far})$.
#
# **Task.** Write `combined_loss` with the formula above, and `RunningMaxScaler`, an object that
# remembers the largest loss value it has seen and divides each new loss by it.

# %% nbgrader={"grade": false, "grade_id": "loss_weighting", "locked": false, "schema_version": 3, "solution": true}
def combined_loss(loss_alpha: torch.Tensor, loss_char: torch.Tensor, char_weight: float) -> torch.Tensor:
    """(1 - char_weight) * loss_alpha + char_weight * loss_char."""
    ### BEGIN SOLUTION
    return (1 - char_weight) * loss_alpha + char_weight * loss_char
    ### END SOLUTION


class RunningMaxScaler:
    """Divides each (positive, 0-dimensional) loss by the largest loss value seen so far,
    this one included. The divisor is a constant for autograd: the gradient of the result is
    the gradient of the loss divided by that maximum."""

    def __init__(self):
        ### BEGIN SOLUTION
        self.largest = 0.0
        ### END SOLUTION

    def __call__(self, loss: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        self.largest = max(self.largest, loss.detach().item())
        return loss / self.largest
        ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "two_output_training", "locked": true, "schema_version": 3, "solution": false}
print("Omniglot-sized TwoOutputNet:", sum(p.numel() for p in TwoOutputNet(30, 964, 64).parameters()), "parameters")
glyph_loader_2 = DataLoader(GlyphDataset(glyph_train_idx, one_hot=False), batch_size=32, shuffle=True,
                            generator=torch.Generator().manual_seed(SEED))
glyph_test_loader_2 = DataLoader(GlyphDataset(glyph_test_idx, one_hot=False), batch_size=256)
two_output_results = {}
for char_weight in (0.1, 0.5, 0.9):
    torch.manual_seed(SEED)
    net2 = TwoOutputNet(N_ALPHABETS, N_CHARS, image_size=8).to(DEVICE)
    opt2 = torch.optim.Adam(net2.parameters(), lr=3e-3)
    scale_alpha, scale_char = RunningMaxScaler(), RunningMaxScaler()
    for epoch in range(2 if FAST else 8):
        net2.train()
        for img, alpha, char in glyph_loader_2:
            img, alpha, char = img.to(DEVICE), alpha.to(DEVICE), char.to(DEVICE)
            opt2.zero_grad()
            out_alpha, out_char = net2(img)
            loss = combined_loss(scale_alpha(F.cross_entropy(out_alpha, alpha)),
                                 scale_char(F.cross_entropy(out_char, char)), char_weight)
            loss.backward()
            opt2.step()
    two_output_results[char_weight] = evaluate_two_output(net2, glyph_test_loader_2, DEVICE)
    print(f"char_weight {char_weight}: alphabet accuracy {two_output_results[char_weight][0]:.3f}, "
          f"character accuracy {two_output_results[char_weight][1]:.3f}")

# %% nbgrader={"grade": true, "grade_id": "check_two_output", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_out_a, _out_c = TwoOutputNet(30, 964, 64)(torch.rand(2, 1, 64, 64))
assert tuple(_out_a.shape) == (2, 30) and tuple(_out_c.shape) == (2, 964), "TwoOutputNet(30, 964, 64) returns logits (2, 30) and (2, 964)"
assert abs(combined_loss(torch.tensor(2.0), torch.tensor(4.0), 0.25).item() - 2.5) < 1e-6, "0.75 * 2 + 0.25 * 4 = 2.5"
_scaler = RunningMaxScaler()
_l1 = torch.tensor(4.0, requires_grad=True)
_r1 = _scaler(_l1)
_r1.backward()
assert abs(_r1.item() - 1.0) < 1e-6 and abs(_l1.grad.item() - 0.25) < 1e-6, \
    "the first loss 4 is divided by itself (1.0), but as a constant: the gradient is 1 / 4, not 0"
assert abs(_scaler(torch.tensor(2.0)).item() - 0.5) < 1e-6, "a later loss 2 is divided by the largest so far, 4"
assert all(0 <= a <= 1 and 0 <= c <= 1 for a, c in two_output_results.values()), "accuracies lie between 0 and 1"
assert two_output_results[0.9][1] > 0.5, "with char_weight 0.9 the character head should learn the digits"
print("two outputs: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "checkpoint2_md", "locked": true, "schema_version": 3, "solution": false}
# ### Checkpoint
#
# Three two-output Omniglot models were trained with `char_weight` 0.1, 0.5 and 0.9 (in some
# order) and gave these accuracies: `model_a` alphabet 0.281, character 0.187; `model_b`
# alphabet 0.350, character 0.018; `model_c` alphabet 0.304, character 0.238. Which weight
# belongs to which model?
#
# A. a: 0.1, b: 0.5, c: 0.9 — B. a: 0.1, b: 0.9, c: 0.5 — C. a: 0.5, b: 0.1, c: 0.9 —
# D. a: 0.9, b: 0.1, c: 0.5 — E. a: 0.9, b: 0.5, c: 0.1
#
# <details><summary>Answer</summary>
#
# **C.** With `char_weight = 0.1` (`model_b`) 90% of the loss is about the alphabet: the best
# alphabet accuracy and almost no characters. With 0.5 (`model_a`) the characters improve and the
# alphabet loses a little; with 0.9 (`model_c`) both go up, since recognising the character also
# tells the alphabet: the two tasks help each other.
# </details>
#
# ## Summary
#
# * A `Dataset` has `__init__`, `__len__` and `__getitem__` (which returns a tuple); a class-based
#   model has `__init__` (the layers) and `forward`. Kaiming initialisation, ReLU-like
#   activations and batch normalisation (after the layer, before the activation) keep gradients
#   stable.
# * Pictures are `(channels, height, width)` tensors in PyTorch; `ToTensor` scales to $[0, 1]$,
#   `PILToTensor` keeps 0-255. `ImageFolder` reads a folder per class; augmentation is random,
#   for training only, and must keep the label.
# * A convolution slides small shared filters over the input (and sums over input channels);
#   padding, stride and pooling set the output size $\lfloor (n + 2p - k)/s \rfloor + 1$. CNNs need
#   far fewer parameters than linear layers.
# * Per-class precision, recall and F1 are averaged by macro (classes equal), weighted (by
#   support, over the total support) or micro (global counts; the accuracy for one label per
#   sample).
# * Several inputs: one sub-network each, concatenate, classify. Several outputs: one shared
#   body, one head and one loss each, combined with weights that add up to 1, on a common scale.

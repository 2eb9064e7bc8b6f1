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
# # Week 06 — Object detection: boxes, IoU, non-maximum suppression, anchors and a two-head network
#
# A classifier says *what* is in a picture. An object detector also says *where*: it returns a
# **bounding box** for every object it finds, with a class label and usually a confidence score.
# This week we build the pieces every modern detector (R-CNN, Faster R-CNN, ...) is made of,
# most of them from scratch, and compare each one with the version in `torchvision`.
#
# This week you will:
#
# 1. find the classes of an `ImageFolder` data set, add a layer to a model that already exists,
#    run a classifier on one picture and save and load its weights;
# 2. convert between box formats, find the tightest box around an object's mask and draw boxes;
# 3. measure the overlap of two boxes (intersection over union, IoU) and remove near-duplicate
#    detections with non-maximum suppression (NMS), also class by class;
# 4. generate the **anchor boxes** of a region proposal network, match them to the true boxes and
#    encode a box as offsets from its anchor (and back);
# 5. build a network with two heads (a class and a box), train it on pictures of coloured shapes,
#    and give torchvision's Faster R-CNN a new box predictor.
#
# **How to work.** Fill in every place marked `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line). Keep the names and arguments of the given functions and
# classes: the grader calls them by name. Run the notebook from top to bottom; the *Check* cells
# test a few cases for you. The grader runs more tests that you do not see: it compares your
# functions with `torchvision` on other inputs, and measures your trained detector on pictures it
# keeps to itself.
#
# No pretrained weights are used in this course (the grading machines are offline): every model
# is built with `weights=None`. The weight *descriptions* of torchvision (category names,
# preprocessing) ship with the library and work offline.

# %% nbgrader={"grade": false, "grade_id": "parameters", "locked": true, "schema_version": 3, "solution": false} tags=["parameters"]
# Settings the grader may change when it runs your notebook. Do not edit this cell.
SEED = 0             # seed for every random number generator used below
FAST = False         # True: a shorter training run (used while grading)
DEVICE = "cpu"       # "cuda" to train the detector on a GPU
DATA_DIR = "data"    # not used: every picture of this notebook is generated below
IMG_SIZE = 32        # side of the square shape pictures of Section 5
N_TRAIN = 1500       # training pictures of the shape detector in the full run (FAST uses fewer)
EPOCHS = 12          # training epochs of the shape detector in the full run (FAST uses fewer)

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false}
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, TensorDataset
from torchvision import ops, utils
from torchvision.datasets import ImageFolder
from torchvision.models import ResNet18_Weights, resnet18
from torchvision.transforms import ToTensor

torch.manual_seed(SEED)
np.random.seed(SEED)
print("torch", torch.__version__, "| device", DEVICE)

# %% [markdown] nbgrader={"grade": false, "grade_id": "classes_md", "locked": true, "schema_version": 3, "solution": false}
# ## 1. Warm-up: data sets, models, predictions, checkpoints
#
# ### How many classes?
#
# `ImageFolder(root)` reads one sub-folder per class (week 04). Each of its elements is a tuple
# `(picture, label)`. To see which labels really occur, go through the data set and collect the
# second element of every tuple in a **set**: `{label for _, label in dataset}`. For a data set of
# cats and dogs this gives `{0, 1}`. (Reading `dataset.classes` gives the folder *names*, and only
# an `ImageFolder` has it; the set comprehension works on every data set of pairs.)
#
# The cell below writes a tiny folder tree of generated pictures, `pets_data/train/cat/...` and
# `pets_data/train/dog/...`, in the working folder.
#
# **Task.** Write `get_classes(dataset)`: the set of labels (Python `int`s) that occur in a data
# set of `(sample, label)` pairs.

# %% nbgrader={"grade": false, "grade_id": "pets_folder", "locked": true, "schema_version": 3, "solution": false}
def write_image_folder(root: str, class_counts: dict, size: int = 8, seed: int = 0) -> None:
    """Write `count` random PNG pictures of size x size pixels into root/<class name>/ for every class."""
    rng = np.random.default_rng(seed)
    for name, count in class_counts.items():
        os.makedirs(os.path.join(root, name), exist_ok=True)
        for i in range(count):
            pixels = rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(os.path.join(root, name, f"{name}_{i:03d}.png"))


write_image_folder(os.path.join("pets_data", "train"), {"cat": 6, "dog": 5}, seed=SEED)
train_dataset = ImageFolder(os.path.join("pets_data", "train"), transform=ToTensor())
print(train_dataset)


# %% nbgrader={"grade": false, "grade_id": "get_classes", "locked": false, "schema_version": 3, "solution": true}
def get_classes(dataset) -> set:
    """The set of labels (as Python ints) of a data set whose elements are (sample, label) pairs."""
    ### BEGIN SOLUTION
    return {int(label) for _, label in dataset}
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_get_classes", "locked": true, "points": 0, "schema_version": 3, "solution": false}
print(get_classes(train_dataset))
assert get_classes(train_dataset) == {0, 1}, "cats and dogs: the labels {0, 1}"
assert get_classes([("a", 3), ("b", 1), ("c", 3)]) == {1, 3}, "the labels that occur in a list of pairs"
print("classes: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "add_module_md", "locked": true, "schema_version": 3, "solution": false}
# ### Adding a layer to a model that already exists
#
# `module.add_module(name, layer)` registers `layer` as a new sub-module called `name`, after the
# ones already there, exactly as `self.name = layer` in `__init__` would: it appears in
# `print(net)`, in `net.parameters()` and in the `state_dict`. (Inside a class definition, a
# list of layers belongs in an `nn.ModuleList`, not a Python list, for the same reason: only
# registered modules are seen by the optimiser and moved by `.to(device)`.)
#
# The course's example adds a second convolution to a network with one:
#
# ```text
# Net(
#   (conv1): Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
#   (conv2): Conv2d(16, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
# )
# ```
#
# The new layer's `in_channels` must be the `out_channels` of the convolution before it.
#
# **Task.** Write `add_conv_layer(net, name, out_channels, kernel_size=3)`: add
# `nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)` (odd kernel sizes:
# the padding keeps the height and width) under `name`, where `in_channels` is the
# `out_channels` of the **last** `nn.Conv2d` already in `net` (`net.modules()` lists them in
# order); return `net`.

# %% nbgrader={"grade": false, "grade_id": "net_class", "locked": true, "schema_version": 3, "solution": false}
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels=3, out_channels=16, kernel_size=3, padding=1)


# %% nbgrader={"grade": false, "grade_id": "add_conv_layer", "locked": false, "schema_version": 3, "solution": true}
def add_conv_layer(net: nn.Module, name: str, out_channels: int, kernel_size: int = 3) -> nn.Module:
    """Register Conv2d(last conv's out_channels, out_channels, kernel_size, padding=kernel_size // 2)
    as `name` with add_module; return net."""
    ### BEGIN SOLUTION
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    in_channels = convs[-1].out_channels
    net.add_module(name, nn.Conv2d(in_channels, out_channels, kernel_size=kernel_size, padding=kernel_size // 2))
    return net
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_add_conv_layer", "locked": true, "points": 0, "schema_version": 3, "solution": false}
net = add_conv_layer(Net(), "conv2", 32)
print(net)
assert str(net) == """Net(
  (conv1): Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
  (conv2): Conv2d(16, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
)""", "print(net) should show the course's two convolutions"
assert sum(p.numel() for p in net.parameters()) == 448 + 4640, "conv2's parameters are registered too"
print("add_module: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "pretrained_md", "locked": true, "schema_version": 3, "solution": false}
# ### Pre-trained models, predictions and checkpoints
#
# Training a large model from scratch takes a lot of data and compute. Often a **pre-trained**
# model (trained by someone else on a large data set such as ImageNet) can be used as it is for
# the same task, or adapted to a related one by training it briefly on the new data (**transfer
# learning**). `torchvision.models` holds many: `resnet18(weights=ResNet18_Weights.DEFAULT)`
# downloads the weights, and the weights object also describes them:
# `weights.meta["categories"]` is the list of the 1000 ImageNet class names and
# `weights.transforms()` the preprocessing the model expects (resize to 256, crop 224, normalise
# with ImageNet's mean and standard deviation). Our machines are offline, so we build the same
# architecture with `weights=None` (random weights) and use only the description.
#
# A prediction for one picture goes in five steps:
#
# 1. `model.eval()`: batch normalisation uses its running statistics, dropout is off;
# 2. `with torch.no_grad():` no graph is built (faster, less memory);
# 3. add a batch dimension, `image.unsqueeze(0)`, run the model and remove it again, `.squeeze(0)`:
#    one vector of logits;
# 4. `.softmax(0)` turns the logits into probabilities;
# 5. `.argmax().item()` is the index of the most probable class; `categories[index]` its name.
#
# A trained model's **parameters** are saved with `torch.save(model.state_dict(), "BinaryCNN.pt")`
# (the usual extension is `.pt`): the `state_dict` maps every parameter and buffer name (batch
# norm's running statistics too) to its tensor. To load them, create a new model of the same
# class and call `new_model.load_state_dict(torch.load("BinaryCNN.pt"))`. (Since PyTorch 2.6,
# `torch.load` only reads tensors and plain containers by default, `weights_only=True`, which is
# exactly what a `state_dict` is.)
#
# **Task.** Write `predict_class(model, image, categories, device="cpu")`, which returns the name
# of the most probable class **and its probability** (a Python `str` and `float`) for one picture
# of shape `(channels, height, width)`; and `save_weights(model, path)` / `load_weights(model,
# path)` (the latter returns the model it loaded the weights into).

# %% nbgrader={"grade": false, "grade_id": "predict_class", "locked": false, "schema_version": 3, "solution": true}
def predict_class(model: nn.Module, image: torch.Tensor, categories: list, device="cpu") -> tuple:
    """(name of the most probable class, its softmax probability) for one image (C, H, W):
    eval mode, no gradients, a batch of one on `device`."""
    ### BEGIN SOLUTION
    model.eval()
    with torch.no_grad():
        logits = model(image.unsqueeze(0).to(device)).squeeze(0)
    probabilities = logits.softmax(0)
    class_id = probabilities.argmax().item()
    return categories[class_id], probabilities[class_id].item()
    ### END SOLUTION


def save_weights(model: nn.Module, path: str) -> None:
    """Save the model's state_dict (not the model object) to `path`."""
    ### BEGIN SOLUTION
    torch.save(model.state_dict(), path)
    ### END SOLUTION


def load_weights(model: nn.Module, path: str) -> nn.Module:
    """Load a state_dict saved by save_weights into `model`; return the model."""
    ### BEGIN SOLUTION
    model.load_state_dict(torch.load(path, map_location="cpu"))
    return model
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "predict_demo", "locked": true, "schema_version": 3, "solution": false}
weights = ResNet18_Weights.DEFAULT
categories = weights.meta["categories"]
preprocess = weights.transforms()
print(len(categories), "ImageNet categories, the first three:", categories[:3])
print(preprocess)
torch.manual_seed(SEED)
classifier = resnet18(weights=None)     # random weights: the prediction means nothing yet
print("the last layer:", classifier.fc)
picture = Image.fromarray(np.random.default_rng(SEED).integers(0, 256, size=(120, 160, 3), dtype=np.uint8))
name, probability = predict_class(classifier, preprocess(picture), categories)
print(f"random resnet18 says {name!r} with probability {probability:.4f} (1/1000 = 0.001 would be pure guessing)")
save_weights(classifier, "resnet18_random.pt")
restored = load_weights(resnet18(weights=None), "resnet18_random.pt")
print("restored the same prediction:", predict_class(restored, preprocess(picture), categories)[0] == name)


# %% nbgrader={"grade": true, "grade_id": "check_predict_class", "locked": true, "points": 0, "schema_version": 3, "solution": false}
class _FixedLogits(nn.Module):
    def __init__(self, logits):
        super().__init__()
        self.logits = nn.Parameter(torch.tensor(logits))

    def forward(self, x):
        return self.logits.expand(x.shape[0], -1)


_name, _p = predict_class(_FixedLogits([0.0, 2.0, 1.0]), torch.zeros(3, 4, 4), ["cat", "dog", "bird"])
assert _name == "dog", f"the largest logit is class 1, 'dog'; got {_name!r}"
assert abs(_p - math.exp(2) / (1 + math.exp(2) + math.exp(1))) < 1e-5, f"its softmax probability is 0.6652, got {_p}"
assert isinstance(_p, float), "the probability should be a Python float (.item())"
assert torch.equal(restored.fc.weight, classifier.fc.weight), "load_weights should restore the saved parameters"
assert isinstance(torch.load("resnet18_random.pt", weights_only=True), dict), "save the state_dict, not the model"
print("predictions and checkpoints: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "boxes_md", "locked": true, "schema_version": 3, "solution": false}
# ## 2. Bounding boxes
#
# Three tasks, from easy to hard:
#
# * **classification**: one (or several) class labels for the whole picture;
# * **localisation**: one class label *and* the box around that one object;
# * **detection**: every instance of every class, each with its box. A detector returns a set of
#   boxes, their class labels and, optionally, a confidence score per box. (The most common use:
#   surveillance; also medical diagnosis, traffic, sports analytics.)
#
# A **bounding box** is the rectangle around an object, given by 4 numbers. Two formats are common:
#
# * `xyxy`: $(x_1, y_1, x_2, y_2)$, the top-left and the bottom-right corner: **torchvision's
#   format**;
# * `xywh`: $(x_1, y_1, w, h)$, the top-left corner, the width and the height (COCO's format).
#
# $x$ runs along the columns (to the right) and $y$ along the rows (downwards). Boxes are
# annotations for training **and** the output of the models. Of all the boxes that contain an
# object, the right one is the **tightest**: it covers the whole object with the smallest
# area. For an object given as a binary mask it is set by the first and last columns and rows
# that contain the object; `ops.masks_to_boxes` returns these pixel **indices**, so a one-pixel
# object at column 3, row 2 gets the box `[3, 2, 3, 2]` (inclusive corners; add 1 to $x_2, y_2$
# to get the box's outer edge in continuous coordinates).
#
# `utils.draw_bounding_boxes(image, boxes, width=3, colors="red")` draws boxes on a `uint8`
# picture of shape `(3, H, W)`. Its `boxes` must have the shape `[N, 4]`: one row per box, even
# for a single box. (The course text adds a batch dimension twice, `[1, 1, 4]`, which fails with
# an `IndexError`.)
#
# **Task.** Write `xywh_to_xyxy` and `xyxy_to_xywh` for boxes `[N, 4]` (the same as
# `ops.box_convert`); `tightest_boxes(masks)`, the boxes `[N, 4]` (float32, inclusive pixel
# indices, as `ops.masks_to_boxes`) of `N` binary masks `[N, H, W]`, each with at least one pixel
# set, with tensor operations of your own (no `masks_to_boxes`); and
# `draw_boxes(image, boxes, color="red", width=3)`, which draws one box (`[4]`) or several
# (`[N, 4]`) with `draw_bounding_boxes` and returns the new picture.

# %% nbgrader={"grade": false, "grade_id": "box_formats", "locked": false, "schema_version": 3, "solution": true}
def xywh_to_xyxy(boxes: torch.Tensor) -> torch.Tensor:
    """[N, 4] boxes (x1, y1, w, h) -> (x1, y1, x2, y2)."""
    ### BEGIN SOLUTION
    x1, y1, w, h = boxes.unbind(-1)
    return torch.stack([x1, y1, x1 + w, y1 + h], dim=-1)
    ### END SOLUTION


def xyxy_to_xywh(boxes: torch.Tensor) -> torch.Tensor:
    """[N, 4] boxes (x1, y1, x2, y2) -> (x1, y1, w, h)."""
    ### BEGIN SOLUTION
    x1, y1, x2, y2 = boxes.unbind(-1)
    return torch.stack([x1, y1, x2 - x1, y2 - y1], dim=-1)
    ### END SOLUTION


def tightest_boxes(masks: torch.Tensor) -> torch.Tensor:
    """float32 [N, 4] boxes (x1, y1, x2, y2) with inclusive pixel indices around N masks [N, H, W]."""
    ### BEGIN SOLUTION
    boxes = torch.zeros(masks.shape[0], 4, dtype=torch.float32)
    for i, mask in enumerate(masks):
        rows, cols = torch.nonzero(mask, as_tuple=True)
        boxes[i] = torch.stack([cols.min(), rows.min(), cols.max(), rows.max()]).float()
    return boxes
    ### END SOLUTION


def draw_boxes(image: torch.Tensor, boxes: torch.Tensor, color="red", width: int = 3) -> torch.Tensor:
    """The uint8 picture (3, H, W) with one box [4] or several [N, 4] drawn on it."""
    ### BEGIN SOLUTION
    return utils.draw_bounding_boxes(image, boxes.reshape(-1, 4), colors=color, width=width)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_box_formats", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_b = torch.tensor([[10.0, 20, 30, 40]])
assert xywh_to_xyxy(_b).tolist() == [[10, 20, 40, 60]], "(10, 20) with width 30 and height 40 ends at (40, 60)"
assert torch.equal(xyxy_to_xywh(xywh_to_xyxy(_b)), _b), "xyxy_to_xywh undoes xywh_to_xyxy"
_m = torch.zeros(1, 7, 10, dtype=torch.bool)
_m[0, 2:5, 3:8] = True
assert tightest_boxes(_m).tolist() == [[3, 2, 7, 4]], "rows 2-4 and columns 3-7: the box [3, 2, 7, 4]"
_img = torch.zeros(3, 20, 30, dtype=torch.uint8)
_drawn = draw_boxes(_img, torch.tensor([2, 3, 15, 12]), color="red", width=1)
assert _drawn.shape == (3, 20, 30) and _drawn.dtype == torch.uint8, "a uint8 picture of the same shape"
assert _drawn[:, 3, 5].tolist() == [255, 0, 0], "the top edge (row 3) is red"
print("boxes: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "sliding_md", "locked": true, "schema_version": 3, "solution": false}
# ### From one object to many
#
# A classifier is a **feature extractor** (convolutions) followed by a **classifier** (linear
# layers). For localisation we add a second output, a second set of linear layers that predicts
# the 4 numbers of the box: a **multi-output** model, trained with cross-entropy for the class
# and the **mean squared error** (or its root) for the box. We build one in Section 5.
#
# But one box output cannot describe several objects. The classic fix is a **sliding window**:
# cut the picture into many patches and classify every patch. Objects come in different
# **sizes** (windows of several sizes, or the picture rescaled several times) and **aspect
# ratios** (tall and wide windows), so the number of patches per picture grows like
# `num_scales * num_aspect_ratios * width * height`: far too slow.
#
# **R-CNN** (Girshick et al., 2014) classifies only about 2000 promising regions per picture:
#
# 1. *region proposals* from **selective search**, which segments the picture into small regions
#    of similar pixels (a graph whose vertices are pixels and whose edges weigh colour and texture
#    differences) and merges them step by step into larger ones;
# 2. *features* of every proposal from a CNN (AlexNet, pre-trained on ImageNet, then fine-tuned
#    with a new last layer that has one extra class, **background**, proposals labelled by their
#    IoU with the true boxes). The CNN needs $227 \times 227$ inputs, so every proposal is
#    enlarged by $p$ pixels of context and warped to that size;
# 3. one **SVM** per class on the features of the last fully connected layer, and a **linear
#    regression** that corrects the proposal's box.
#
# Its successors share the computation: **Faster R-CNN** runs the backbone once per picture, and
# a small **region proposal network** (RPN) on its feature map proposes the regions (Section 4).

# %% [markdown] nbgrader={"grade": false, "grade_id": "iou_md", "locked": true, "schema_version": 3, "solution": false}
# ## 3. Evaluating boxes: intersection over union
#
# How good is a predicted box? **Intersection over union** compares it with the true box:
#
# $$\text{IoU}(A, B) = \frac{|A \cap B|}{|A \cup B|} = \frac{|A \cap B|}{|A| + |B| - |A \cap B|}.$$
#
# For boxes in `xyxy` format the intersection is again a box, from
# $(\max(x_1^A, x_1^B), \max(y_1^A, y_1^B))$ to $(\min(x_2^A, x_2^B), \min(y_2^A, y_2^B))$; when
# the boxes do not overlap its width or height is negative and must be **clamped at 0**. An area
# is $(x_2 - x_1)(y_2 - y_1)$: the coordinates are continuous, so boxes that only touch along an
# edge have IoU 0 (no "+ 1 pixel").
#
# IoU 0: no overlap at all; IoU 1: the same box. A prediction with IoU $\ge 0.5$ is usually counted
# as correct. IoU is a **metric**, not the training loss; the usual summary of a detector's
# quality, the **mean average precision** (mAP), counts a detection as right or wrong by its IoU
# and averages the area under the precision-recall curve over the classes.
#
# The course's example: `ops.box_iou` of `[50, 50, 150, 150]` and `[100, 100, 200, 200]` is
# $2500 / 17500 = 1/7 \approx 0.1429$.
#
# **Task.** Write `iou(box1, box2)` for one pair of boxes `[4]` (a Python float; plain arithmetic
# is fine), and `box_iou(boxes1, boxes2)`, the matrix `[N, M]` of the IoUs of every box of
# `boxes1 [N, 4]` with every box of `boxes2 [M, 4]`, vectorised with broadcasting (no loops), as a
# floating point tensor even for integer boxes (like `ops.box_iou`, which you may not use).

# %% nbgrader={"grade": false, "grade_id": "iou", "locked": false, "schema_version": 3, "solution": true}
def iou(box1, box2) -> float:
    """IoU of two boxes (x1, y1, x2, y2) as a Python float."""
    ### BEGIN SOLUTION
    x1, y1 = max(float(box1[0]), float(box2[0])), max(float(box1[1]), float(box2[1]))
    x2, y2 = min(float(box1[2]), float(box2[2])), min(float(box1[3]), float(box2[3]))
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    area1 = (float(box1[2]) - float(box1[0])) * (float(box1[3]) - float(box1[1]))
    area2 = (float(box2[2]) - float(box2[0])) * (float(box2[3]) - float(box2[1]))
    return inter / (area1 + area2 - inter)
    ### END SOLUTION


def box_iou(boxes1: torch.Tensor, boxes2: torch.Tensor) -> torch.Tensor:
    """[N, M] IoUs of boxes1 [N, 4] with boxes2 [M, 4]; floating point even for integer boxes."""
    ### BEGIN SOLUTION
    if not boxes1.is_floating_point():
        boxes1 = boxes1.float()
    boxes2 = boxes2.to(boxes1.dtype)
    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])
    top_left = torch.max(boxes1[:, None, :2], boxes2[None, :, :2])
    bottom_right = torch.min(boxes1[:, None, 2:], boxes2[None, :, 2:])
    wh = (bottom_right - top_left).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    return inter / (area1[:, None] + area2[None, :] - inter)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_iou", "locked": true, "points": 0, "schema_version": 3, "solution": false}
bbox1 = torch.tensor([50, 50, 150, 150]).unsqueeze(0)
bbox2 = torch.tensor([100, 100, 200, 200]).unsqueeze(0)
print("ops.box_iou:", ops.box_iou(bbox1, bbox2), "| box_iou:", box_iou(bbox1, bbox2))
assert abs(iou([50, 50, 150, 150], [100, 100, 200, 200]) - 1 / 7) < 1e-9, "the course's example: 2500 / 17500 = 0.1429"
assert iou([0, 0, 1, 1], [1, 0, 2, 1]) == 0.0 and iou([0, 0, 1, 1], [3, 3, 4, 4]) == 0.0, "touching or disjoint boxes: IoU 0"
assert box_iou(bbox1, bbox2).is_floating_point(), "box_iou of integer boxes is a float tensor"
_r = torch.rand(5, 2) * 10
_b1 = torch.cat([_r, _r + torch.rand(5, 2) * 5 + 0.1], dim=1)
_b2 = _b1.flip(0) + 1.5
assert torch.allclose(box_iou(_b1, _b2), ops.box_iou(_b1, _b2), atol=1e-6), "box_iou should agree with ops.box_iou"
print("IoU: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "nms_md", "locked": true, "schema_version": 3, "solution": false}
# ### Non-maximum suppression
#
# A detector proposes many overlapping boxes around the same object. **Non-maximum suppression**
# keeps the best of each cluster:
#
# 1. **non-max**: take the remaining box with the highest score and keep it;
# 2. **suppression**: discard every remaining box whose IoU with it is **greater than**
#    `iou_threshold` (strictly: a box with IoU exactly equal to the threshold stays);
# 3. repeat until no box remains.
#
# The result is the list of the kept boxes' **indices, in decreasing order of score** (as
# `ops.nms` returns them); `boxes[keep]` are the boxes. With `iou_threshold = 0` every box that
# overlaps a kept box at all is removed; with `iou_threshold = 1` nothing is removed (an IoU
# cannot exceed 1).
#
# **Ties.** When two boxes have the same score, the order in which you visit them can change the
# result. Our rule: visit boxes in decreasing order of score, equal scores **in the order of
# their indices** (a stable sort, `torch.sort(scores, descending=True, stable=True)`); the
# grader accepts every result that some order of the tied boxes gives (`ops.nms` breaks ties in
# its own way).
#
# Detectors with several classes suppress **per class**: a dog's box must not remove an
# overlapping ball's box. `ops.batched_nms(boxes, scores, idxs, iou_threshold)` runs NMS separately
# for every class index in `idxs` and returns all the kept indices together, again in decreasing
# order of score.
#
# **Task.** Write `nms(boxes, scores, iou_threshold)` and `batched_nms(boxes, scores, idxs,
# iou_threshold)` (which should call your `nms` once per class), both returning an int64 tensor
# of indices into `boxes` (without `ops.nms` or `ops.batched_nms`).

# %% nbgrader={"grade": false, "grade_id": "nms", "locked": false, "schema_version": 3, "solution": true}
def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Indices (int64) of the boxes greedy NMS keeps, in decreasing order of score."""
    ### BEGIN SOLUTION
    order = torch.sort(scores, descending=True, stable=True).indices
    overlaps = box_iou(boxes, boxes)
    removed = torch.zeros(len(boxes), dtype=torch.bool)
    keep = []
    for i in order.tolist():
        if removed[i]:
            continue
        keep.append(i)
        removed |= overlaps[i] > iou_threshold
    return torch.tensor(keep, dtype=torch.int64)
    ### END SOLUTION


def batched_nms(boxes: torch.Tensor, scores: torch.Tensor, idxs: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """NMS within each class of idxs; all kept indices (int64) in decreasing order of score."""
    ### BEGIN SOLUTION
    keep = []
    for cls in torch.unique(idxs):
        members = torch.nonzero(idxs == cls).flatten()
        keep.append(members[nms(boxes[members], scores[members], iou_threshold)])
    keep = torch.cat(keep) if keep else torch.zeros(0, dtype=torch.int64)
    return keep[torch.sort(scores[keep], descending=True, stable=True).indices]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_nms", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_boxes = torch.tensor([[0.0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60], [0, 0, 9, 9]])
_scores = torch.tensor([0.9, 0.8, 0.7, 0.95])
print("nms:", nms(_boxes, _scores, 0.5), "| ops.nms:", ops.nms(_boxes, _scores, 0.5))
assert nms(_boxes, _scores, 0.5).tolist() == [3, 2], "box 3 has the highest score and suppresses boxes 0 and 1"
assert nms(_boxes, _scores, 0.5).dtype == torch.int64, "indices are int64"
assert nms(_boxes, _scores, 1.0).tolist() == [3, 0, 1, 2], "with threshold 1 every box stays, by decreasing score"
assert batched_nms(_boxes, _scores, torch.tensor([0, 1, 0, 0]), 0.5).tolist() == [3, 1, 2], \
    "box 1 is alone in class 1, so it survives"
print("NMS: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "anchors_md", "locked": true, "schema_version": 3, "solution": false}
# ## 4. Faster R-CNN's anchors
#
# Faster R-CNN has three modules: a **backbone** (convolutions) that computes a feature map; a
# **region proposal network** (RPN) that proposes boxes on that feature map; and a
# **classifier and box regressor** for every proposal, after **RoI pooling** has cut the proposal's
# part of the feature map to a fixed size (`ops.MultiScaleRoIAlign(featmap_names=['0'],
# output_size=7, sampling_ratio=2)`).
#
# The RPN starts from **anchor boxes**: at every position of the feature map it places the same
# few boxes of several **sizes** and **aspect ratios**, centred on that position. For every anchor
# it predicts whether it holds an object ("objectness") and how to move and stretch the anchor to
# fit it. `rpn.AnchorGenerator(sizes=((32, 64, 128),), aspect_ratios=((0.5, 1.0, 2.0),))` gives
# $3 \times 3 = 9$ anchors per position.
#
# **Base anchors.** An anchor of size $s$ and aspect ratio $r = h / w$ keeps the area $s^2$:
# $h = s\sqrt{r}$ and $w = s / \sqrt{r}$. Centred on $(0, 0)$ it is
# $\operatorname{round}(-w/2, -h/2, w/2, h/2)$. torchvision lists them **ratio by ratio**: first
# every size with the first ratio, then every size with the second one, and so on; for the
# sizes above the first rows are `[-23, -11, 23, 11]`, `[-45, -23, 45, 23]`, `[-91, -45, 91, 45]`
# (ratio 0.5), then `[-16, -16, 16, 16]`... (ratio 1).
#
# **Anchors over a feature map.** A feature map of $H_f \times W_f$ positions computed from a
# picture with a stride of $(s_y, s_x)$ pixels per position gets, at position $(i, j)$, the base
# anchors shifted by $(j s_x, i s_y, j s_x, i s_y)$. The positions are listed row by row (all of row
# 0 first), and every position lists all its base anchors in their order: $H_f W_f A$ boxes for
# $A$ base anchors.
#
# **Matching.** To train the RPN, every anchor is matched to a true box by IoU. With the matrix
# `iou [M, N]` (M true boxes, N anchors), each anchor takes the true box it overlaps most
# (`argmax` over the M rows) if that best IoU is $\ge$ `high`; it is background, `-1`, if the best
# IoU is $<$ `low`; and in between it is ignored, `-2`. With `allow_low_quality=True`, every true
# box also gets the anchors that overlap it most (all of them when several tie), even when that
# IoU is below `high`: each such anchor is matched to **its own** best true box (the argmax over
# its column), so no object is left without an anchor. (torchvision's `Matcher` does exactly this;
# Faster R-CNN's RPN uses `high=0.7`, `low=0.3`.)
#
# **Box encoding.** The regressor does not predict coordinates but offsets relative to the
# anchor. With the anchor's width $w_a$, height $h_a$ and centre $(x_a, y_a)$, and the same for the
# true box ($w, h, x, y$), and weights $(w_x, w_y, w_w, w_h)$:
#
# $$t_x = w_x \frac{x - x_a}{w_a},\quad t_y = w_y \frac{y - y_a}{h_a},\quad t_w = w_w \log\frac{w}{w_a},\quad t_h = w_h \log\frac{h}{h_a}.$$
#
# Decoding inverts this: $x = x_a + w_a t_x / w_x$, $w = w_a \exp(t_w / w_w)$, and the box is
# $(x - w/2, y - h/2, x + w/2, y + h/2)$. (Offsets scaled by the anchor's size are the same for a
# small and a large object, which makes them easy to learn; torchvision's `BoxCoder` uses the
# weights $(1, 1, 1, 1)$ in the RPN and $(10, 10, 5, 5)$ in the box head.)
#
# **Task.** Write `base_anchors(sizes, aspect_ratios)` (float32 `[len(aspect_ratios) *
# len(sizes), 4]`), `grid_anchors(base, feature_size, stride)` (`feature_size = (H_f, W_f)`,
# `stride = (s_y, s_x)`), `match_anchors(iou, high, low, allow_low_quality)` (int64 `[N]`),
# `encode_boxes(anchors, boxes, weights)` and `decode_boxes(anchors, deltas, weights)` (both
# `[N, 4]`, row $k$ of one with row $k$ of the other).

# %% nbgrader={"grade": false, "grade_id": "anchors", "locked": false, "schema_version": 3, "solution": true}
def base_anchors(sizes, aspect_ratios) -> torch.Tensor:
    """float32 [len(aspect_ratios) * len(sizes), 4] anchors centred on (0, 0), ratio by ratio."""
    ### BEGIN SOLUTION
    scales = torch.as_tensor(sizes, dtype=torch.float32)
    ratios = torch.as_tensor(aspect_ratios, dtype=torch.float32)
    h_ratios = torch.sqrt(ratios)
    w_ratios = 1 / h_ratios
    ws = (w_ratios[:, None] * scales[None, :]).reshape(-1)
    hs = (h_ratios[:, None] * scales[None, :]).reshape(-1)
    return (torch.stack([-ws, -hs, ws, hs], dim=1) / 2).round()
    ### END SOLUTION


def grid_anchors(base: torch.Tensor, feature_size, stride) -> torch.Tensor:
    """[H_f * W_f * A, 4] anchors: the A base anchors shifted to every position, row by row."""
    ### BEGIN SOLUTION
    (fh, fw), (sy, sx) = feature_size, stride
    shift_y, shift_x = torch.meshgrid(torch.arange(fh, dtype=torch.float32) * sy,
                                      torch.arange(fw, dtype=torch.float32) * sx, indexing="ij")
    shifts = torch.stack([shift_x, shift_y, shift_x, shift_y], dim=-1).reshape(-1, 1, 4)
    return (shifts + base.reshape(1, -1, 4)).reshape(-1, 4)
    ### END SOLUTION


def match_anchors(iou: torch.Tensor, high: float = 0.7, low: float = 0.3, allow_low_quality: bool = True) -> torch.Tensor:
    """int64 [N]: the matched true box of each of N anchors (columns of iou [M, N]), -1 background, -2 ignored."""
    ### BEGIN SOLUTION
    best, matches = iou.max(dim=0)
    own_best = matches.clone()
    matches[best < low] = -1
    matches[(best >= low) & (best < high)] = -2
    if allow_low_quality:
        best_per_box = iou.max(dim=1).values
        anchors = torch.nonzero(iou == best_per_box[:, None])[:, 1]
        matches[anchors] = own_best[anchors]
    return matches
    ### END SOLUTION


def encode_boxes(anchors: torch.Tensor, boxes: torch.Tensor, weights=(1.0, 1.0, 1.0, 1.0)) -> torch.Tensor:
    """[N, 4] offsets (tx, ty, tw, th) of boxes [N, 4] relative to anchors [N, 4]."""
    ### BEGIN SOLUTION
    wx, wy, ww, wh = weights
    wa, ha = anchors[:, 2] - anchors[:, 0], anchors[:, 3] - anchors[:, 1]
    xa, ya = anchors[:, 0] + 0.5 * wa, anchors[:, 1] + 0.5 * ha
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    x, y = boxes[:, 0] + 0.5 * w, boxes[:, 1] + 0.5 * h
    return torch.stack([wx * (x - xa) / wa, wy * (y - ya) / ha, ww * torch.log(w / wa), wh * torch.log(h / ha)], dim=1)
    ### END SOLUTION


def decode_boxes(anchors: torch.Tensor, deltas: torch.Tensor, weights=(1.0, 1.0, 1.0, 1.0)) -> torch.Tensor:
    """[N, 4] boxes (x1, y1, x2, y2) from the offsets deltas [N, 4] relative to anchors [N, 4]."""
    ### BEGIN SOLUTION
    wx, wy, ww, wh = weights
    wa, ha = anchors[:, 2] - anchors[:, 0], anchors[:, 3] - anchors[:, 1]
    xa, ya = anchors[:, 0] + 0.5 * wa, anchors[:, 1] + 0.5 * ha
    x = xa + deltas[:, 0] / wx * wa
    y = ya + deltas[:, 1] / wy * ha
    w = wa * torch.exp(deltas[:, 2] / ww)
    h = ha * torch.exp(deltas[:, 3] / wh)
    return torch.stack([x - 0.5 * w, y - 0.5 * h, x + 0.5 * w, y + 0.5 * h], dim=1)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "anchors_demo", "locked": true, "schema_version": 3, "solution": false}
from torchvision.models.detection import rpn
from torchvision.models.detection._utils import BoxCoder, Matcher
from torchvision.models.detection.image_list import ImageList

anchor_generator = rpn.AnchorGenerator(sizes=((32, 64, 128),), aspect_ratios=((0.5, 1.0, 2.0),))
print("anchors per position:", anchor_generator.num_anchors_per_location())
base = base_anchors((32, 64, 128), (0.5, 1.0, 2.0))
print(base)
# torchvision's anchors for a 64 x 96 picture whose feature map has 4 x 6 positions (stride 16)
_images = ImageList(torch.zeros(1, 3, 64, 96), [(64, 96)])
tv_anchors = anchor_generator(_images, [torch.zeros(1, 8, 4, 6)])[0]
my_anchors = grid_anchors(base, (4, 6), (16, 16))
print(tuple(tv_anchors.shape), "anchors; the same as grid_anchors:", torch.equal(tv_anchors, my_anchors))

# %% nbgrader={"grade": true, "grade_id": "check_anchors", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert base.shape == (9, 4) and base.dtype == torch.float32, "3 sizes x 3 ratios: 9 base anchors (float32)"
assert base[:4].tolist() == [[-23, -11, 23, 11], [-45, -23, 45, 23], [-91, -45, 91, 45], [-16, -16, 16, 16]], \
    "ratio by ratio: the sizes 32, 64, 128 with the ratio 0.5 first"
assert torch.equal(base, anchor_generator.generate_anchors((32, 64, 128), (0.5, 1.0, 2.0))), "the same as AnchorGenerator"
assert torch.equal(tv_anchors, my_anchors), "grid_anchors should list the anchors in AnchorGenerator's order"
_iou = torch.tensor([[0.1, 0.8, 0.4, 0.2, 0.0], [0.05, 0.1, 0.5, 0.35, 0.2]])
assert match_anchors(_iou, 0.7, 0.3, False).tolist() == [-1, 0, -2, -2, -1], "-1 below low, -2 between, else the best box"
assert match_anchors(_iou, 0.7, 0.3, True).tolist() == [-1, 0, 1, -2, -1], \
    "anchor 2 is true box 1's best anchor, so it is matched to it"
assert torch.equal(match_anchors(_iou, 0.7, 0.3, True), Matcher(0.7, 0.3, True)(_iou)), "the same as Matcher"
_anchors = torch.tensor([[0.0, 0, 10, 20], [5, 5, 45, 25]])
_gt = torch.tensor([[2.0, 1, 14, 19], [0, 10, 40, 30]])
for _w in ((1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0)):
    _d = encode_boxes(_anchors, _gt, _w)
    assert torch.allclose(_d, BoxCoder(_w).encode_single(_gt, _anchors), atol=1e-6), f"encode_boxes with weights {_w}"
    assert torch.allclose(decode_boxes(_anchors, _d, _w), _gt, atol=1e-4), "decode_boxes undoes encode_boxes"
print("anchors: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "detector_md", "locked": true, "schema_version": 3, "solution": false}
# ## 5. A network with a class head and a box head
#
# The course builds a localisation network from a VGG-16 backbone and two heads:
#
# ```python
# backbone = nn.Sequential(*list(vgg.features.children()))
# input_dimension = backbone[0].out_channels             # wrong: 64, the FIRST convolution
# classifier = nn.Sequential(nn.Linear(input_dimension, 512), nn.ReLU(), nn.Linear(512, num_classes))
# bbox_regressor = nn.Sequential(nn.Linear(input_dimension, 32), nn.ReLU(), nn.Linear(32, 4))
# ```
#
# Two things are wrong there. The backbone's *output* has the channels of its **last**
# convolution, 512 for VGG-16 (its first has 64). And the backbone returns feature maps
# `(batch, 512, h, w)`, not vectors: before a linear layer they must be **pooled** and flattened,
# for example with `nn.AdaptiveAvgPool2d(1)` and `nn.Flatten()`, which give `(batch, 512)` whatever
# the size of the picture. Averaging over the whole map keeps *what* is there but loses most of
# *where* it is, which the box head needs: pooling to a small grid instead,
# `nn.AdaptiveAvgPool2d(pool_size)`, keeps a coarse layout and gives
# `channels * pool_size * pool_size` numbers per picture.
#
# Our data: pictures of noise with one coloured rectangle each; the class is its colour (red,
# green or blue), the box its position. The boxes are given in `xyxy` format, divided by the
# picture's side so that they lie in $[0, 1]$ (the network predicts them with a plain linear
# output). The loss adds cross-entropy for the class and the mean squared error for the box:
#
# $$\text{loss} = \text{CE}(\text{logits}, \text{labels}) + \lambda \cdot \text{MSE}(\text{predicted boxes}, \text{true boxes}),$$
#
# both means over the batch (the MSE over all $4B$ numbers), with the weight $\lambda$ = `box_weight`.
#
# **Task.** Write `ObjectDetectorCNN(backbone, num_classes, pool_size=1)` with the attributes
# `backbone`, `pool` (`nn.AdaptiveAvgPool2d(pool_size)`, then `nn.Flatten()`), `classifier` and
# `bbox_regressor` (as in the course, but with the right `input_dimension`: the `out_channels`
# of the backbone's last `nn.Conv2d`, times `pool_size ** 2`); `forward(x)` returns `(class logits [B, num_classes],
# boxes [B, 4])`. Then `detection_loss(logits, box_preds, labels, boxes, box_weight=1.0)` and
# `train_detector_epoch(model, loader, optimizer, device, box_weight=1.0)`: one pass over a
# loader of `(images, labels, boxes)` batches in training mode (zero the gradients, forward,
# `detection_loss`, backward, step), returning the mean of the batch losses.

# %% nbgrader={"grade": false, "grade_id": "detector", "locked": false, "schema_version": 3, "solution": true}
class ObjectDetectorCNN(nn.Module):
    """backbone -> pool (AdaptiveAvgPool2d(pool_size), Flatten) -> classifier and bbox_regressor heads."""

    def __init__(self, backbone: nn.Module, num_classes: int, pool_size: int = 1):
        ### BEGIN SOLUTION
        super().__init__()
        self.backbone = backbone
        channels = [m for m in backbone.modules() if isinstance(m, nn.Conv2d)][-1].out_channels
        input_dimension = channels * pool_size * pool_size
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(pool_size), nn.Flatten())
        self.classifier = nn.Sequential(nn.Linear(input_dimension, 512), nn.ReLU(), nn.Linear(512, num_classes))
        self.bbox_regressor = nn.Sequential(nn.Linear(input_dimension, 32), nn.ReLU(), nn.Linear(32, 4))
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> tuple:
        ### BEGIN SOLUTION
        features = self.pool(self.backbone(x))
        return self.classifier(features), self.bbox_regressor(features)
        ### END SOLUTION


def detection_loss(logits, box_preds, labels, boxes, box_weight: float = 1.0) -> torch.Tensor:
    """Cross-entropy of the class logits plus box_weight times the MSE of the boxes (both means)."""
    ### BEGIN SOLUTION
    return F.cross_entropy(logits, labels) + box_weight * F.mse_loss(box_preds, boxes)
    ### END SOLUTION


def train_detector_epoch(model, loader, optimizer, device, box_weight: float = 1.0) -> float:
    """One epoch over (images, labels, boxes) batches in training mode; the mean batch loss."""
    ### BEGIN SOLUTION
    model.train()
    losses = []
    for images, labels, boxes in loader:
        images, labels, boxes = images.to(device), labels.to(device), boxes.to(device)
        optimizer.zero_grad()
        logits, box_preds = model(images)
        loss = detection_loss(logits, box_preds, labels, boxes, box_weight)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return sum(losses) / len(losses)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "vgg_heads", "locked": true, "schema_version": 3, "solution": false}
from torchvision.models.vgg import cfgs, make_layers

vgg16_features = make_layers(cfgs["D"])        # the same layers as vgg16(weights=None).features
vgg_detector = ObjectDetectorCNN(vgg16_features, num_classes=2)
print("first convolution:", vgg16_features[0])
print("heads:", vgg_detector.classifier[0], "and", vgg_detector.bbox_regressor[0])
with torch.no_grad():
    _logits, _boxes = vgg_detector(torch.rand(1, 3, 64, 80))
print("outputs for one 64 x 80 picture:", tuple(_logits.shape), tuple(_boxes.shape))

# %% nbgrader={"grade": false, "grade_id": "shapes_data", "locked": true, "schema_version": 3, "solution": false}
COLOURS = {"red": (220, 40, 40), "green": (40, 200, 60), "blue": (50, 70, 230)}


def make_shapes(n: int, size: int, seed: int):
    """n pictures (float32 [n, 3, size, size] in [0, 1]) of noise with one coloured rectangle,
    its colour's index (int64 [n]) and its box (float32 [n, 4], xyxy divided by size)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 120, size=(n, size, size, 3)).astype(np.float32)
    labels = rng.integers(0, len(COLOURS), size=n)
    boxes = np.zeros((n, 4), dtype=np.float32)
    for i in range(n):
        w, h = rng.integers(size // 5, size * 3 // 5, size=2)
        x1, y1 = rng.integers(0, size - w + 1), rng.integers(0, size - h + 1)
        colour = np.array(list(COLOURS.values())[labels[i]], dtype=np.float32)
        images[i, y1:y1 + h, x1:x1 + w] = colour + rng.normal(0, 12, size=(h, w, 3))
        boxes[i] = (x1, y1, x1 + w, y1 + h)
    images = np.clip(images, 0, 255) / 255.0
    return (torch.tensor(images.transpose(0, 3, 1, 2), dtype=torch.float32), torch.tensor(labels, dtype=torch.int64),
            torch.tensor(boxes / size, dtype=torch.float32))


def make_backbone() -> nn.Sequential:
    """A small VGG-style feature extractor: conv -> batch norm -> ReLU (-> max pool), three times."""
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
    )


n_train = 384 if FAST else N_TRAIN
shape_images, shape_labels, shape_boxes = make_shapes(n_train, IMG_SIZE, SEED)
val_images, val_labels, val_boxes = make_shapes(200, IMG_SIZE, SEED + 1)
print("training pictures:", tuple(shape_images.shape), "| first box (fractions of the side):", shape_boxes[0].tolist())
if not FAST:
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 6, figsize=(12, 2.2))
    for ax, i in zip(axes, range(6)):
        picture = (shape_images[i] * 255).to(torch.uint8)
        ax.imshow(draw_boxes(picture, shape_boxes[i] * IMG_SIZE, color="white", width=1).permute(1, 2, 0))
        ax.set_title(list(COLOURS)[int(shape_labels[i])], fontsize=8)
        ax.axis("off")
    plt.show()

# %% nbgrader={"grade": false, "grade_id": "shapes_training", "locked": true, "schema_version": 3, "solution": false}
torch.manual_seed(SEED)
detector_net = ObjectDetectorCNN(make_backbone(), num_classes=len(COLOURS), pool_size=4).to(DEVICE)
detector_optimizer = torch.optim.Adam(detector_net.parameters(), lr=3e-3)
shape_loader = DataLoader(TensorDataset(shape_images, shape_labels, shape_boxes), batch_size=32, shuffle=True,
                          generator=torch.Generator().manual_seed(SEED))
detector_losses = [train_detector_epoch(detector_net, shape_loader, detector_optimizer, DEVICE, box_weight=10.0)
                   for _ in range(5 if FAST else EPOCHS)]
detector_net.eval()
with torch.no_grad():
    _logits, _pred = detector_net(val_images.to(DEVICE))
val_accuracy = (_logits.argmax(1).cpu() == val_labels).float().mean().item()
val_iou = ops.box_iou(_pred.cpu().double(), val_boxes.double()).diagonal().mean().item()
print("losses:", [round(v, 4) for v in detector_losses])
print(f"validation: class accuracy {val_accuracy:.3f}, mean IoU of the predicted boxes {val_iou:.3f}")

# %% nbgrader={"grade": true, "grade_id": "check_detector", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert vgg_detector.classifier[0].in_features == 512, "VGG-16's last convolution has 512 channels, not 64"
assert vgg_detector.bbox_regressor[-1].out_features == 4, "the box head predicts 4 numbers"
assert tuple(_logits.shape) == (200, 3) and tuple(_pred.shape) == (200, 4), "logits (B, 3) and boxes (B, 4)"
_l = detection_loss(torch.tensor([[2.0, 0.0]]), torch.tensor([[0.5, 0.5, 1.0, 1.0]]), torch.tensor([0]),
                    torch.tensor([[0.5, 0.5, 1.0, 0.0]]), box_weight=2.0)
assert abs(_l.item() - (math.log(1 + math.exp(-2)) + 2 * 0.25)) < 1e-5, "CE 0.1269 + 2 * MSE 0.25 = 0.6269"
assert detector_losses[-1] < detector_losses[0], "the training loss should go down"
assert ObjectDetectorCNN(make_backbone(), 3, pool_size=4).bbox_regressor[0].in_features == 64 * 16, \
    "pool_size 4: 64 channels x 16 positions"
assert val_accuracy > 0.8 and val_iou > 0.35, "the detector should learn the colours and roughly where the rectangle is"
print("two-head detector: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "faster_rcnn_md", "locked": true, "schema_version": 3, "solution": false}
# ## 6. Faster R-CNN in torchvision
#
# torchvision assembles the whole Faster R-CNN for us. With a backbone of our own (it must say
# how many channels it returns, `backbone.out_channels`), an anchor generator and a RoI pooler:
#
# ```python
# backbone = torchvision.models.mobilenet_v2(weights=None).features
# backbone.out_channels = 1280
# model = FasterRCNN(backbone=backbone, num_classes=num_classes,
#                    rpn_anchor_generator=anchor_generator, box_roi_pool=roi_pooler)
# ```
#
# or ready-made, with a ResNet-50 backbone and a feature pyramid:
# `torchvision.models.detection.fasterrcnn_resnet50_fpn(weights=None, weights_backbone=None)`
# (the course text calls it `faster_rcnn_resnet50_fpn`, a name that does not exist). To adapt a
# (pre-trained) Faster R-CNN to our own `num_classes` (counting the background class), we
# replace only its last layer, the **box predictor** of the RoI heads: a `FastRCNNPredictor(in_features,
# num_classes)`, whose `cls_score` gives `num_classes` scores and whose `bbox_pred` gives
# `4 * num_classes` box offsets (one box per class). `in_features` is read from the predictor
# being replaced: `model.roi_heads.box_predictor.cls_score.in_features` (1024 here).
#
# Running a detector on one picture: load and transform it; `unsqueeze(0)` for a batch of one;
# run the model (in eval mode it returns, per picture, a dict of `boxes`, `labels` and
# `scores`); `nms` over its boxes; `draw_bounding_boxes` on the picture.
#
# **Task.** Write `replace_predictor(model, num_classes)`: put a new `FastRCNNPredictor` with the
# right `in_features` into `model.roi_heads.box_predictor` and return the model.

# %% nbgrader={"grade": false, "grade_id": "replace_predictor", "locked": false, "schema_version": 3, "solution": true}
from torchvision.models.detection import fasterrcnn_resnet50_fpn
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor


def replace_predictor(model: nn.Module, num_classes: int) -> nn.Module:
    """Give a Faster R-CNN model a new FastRCNNPredictor for num_classes classes; return the model."""
    ### BEGIN SOLUTION
    in_features = model.roi_heads.box_predictor.cls_score.in_features
    model.roi_heads.box_predictor = FastRCNNPredictor(in_features, num_classes)
    return model
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "faster_rcnn_demo", "locked": true, "schema_version": 3, "solution": false}
NUM_CLASSES = 5
torch.manual_seed(SEED)
faster_rcnn = fasterrcnn_resnet50_fpn(weights=None, weights_backbone=None)   # built once: ~42 M parameters
print("before:", faster_rcnn.roi_heads.box_predictor)
faster_rcnn = replace_predictor(faster_rcnn, NUM_CLASSES)
print("after: ", faster_rcnn.roi_heads.box_predictor)
print(f"{sum(p.numel() for p in faster_rcnn.parameters()):,} parameters")

# %% nbgrader={"grade": true, "grade_id": "check_replace_predictor", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_predictor = faster_rcnn.roi_heads.box_predictor
assert isinstance(_predictor, FastRCNNPredictor), "the new predictor is a FastRCNNPredictor"
assert _predictor.cls_score.in_features == 1024 and _predictor.cls_score.out_features == NUM_CLASSES, \
    "cls_score: 1024 -> 5"
assert _predictor.bbox_pred.out_features == 4 * NUM_CLASSES, "bbox_pred: 1024 -> 20, one box per class"
print("Faster R-CNN: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "summary_md", "locked": true, "schema_version": 3, "solution": false}
# ## Summary
#
# * `{label for _, label in dataset}` lists a data set's classes; `add_module` registers a new
#   layer; a prediction is eval mode, `no_grad`, a batch of one, softmax, argmax; checkpoints
#   save and load the `state_dict`.
# * Boxes are `xyxy` in torchvision (or `xywh`); the tightest box covers the object with the
#   smallest area; `draw_bounding_boxes` wants boxes of shape `[N, 4]`.
# * IoU = intersection / union, 0 for disjoint or touching boxes, 1 for the same box; it is a
#   metric (mAP builds on it). NMS keeps the best box and drops the ones overlapping it by more
#   than the threshold, class by class in `batched_nms`.
# * Faster R-CNN: backbone, RPN with anchors (sizes x ratios per position, matched to the
#   true boxes by IoU, boxes encoded as offsets), RoI pooling, classifier and box regressor. A
#   two-head network needs the backbone's *last* channel count and pooling before its linear
#   heads.

"""Where does a digit classifier look? Grad-CAM (Selvaraju et al. 2017) with module hooks.

A small CNN is trained on the 8×8 digits for a few epochs. Then a forward hook on its
last convolution keeps the activations A (C channels of 4×4) and a full backward hook
the gradient of the predicted class's score y^c with respect to them, and

    α_k = mean over positions of ∂y^c/∂A_k        (one weight per channel)
    CAM = ReLU(Σ_k α_k A_k), upsampled to 8×8 and scaled to [0, 1]

shows which pixels pushed the network toward its answer. Printed: a few held-out digits
next to their maps, and a deletion test of the maps' faithfulness: blanking the quarter
of the pixels the map ranks highest lowers the probability of the predicted class by
more than blanking a random quarter (seed 0: 0.42 against 0.20 on average).

    python examples/gradcam_digits.py [--epochs 6] [--seed 0]
"""
import argparse

import numpy as np

import minigrad as mg
from minigrad import nn, optim
from minigrad.cli.common import nonnegative_int, positive_int
from minigrad.data import DataLoader, digits_splits
from minigrad.nn import functional as F

SHADES = " .:-=+*#%@"


def build_model():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1, stride=2), nn.ReLU(),       # the layer we inspect
        nn.Flatten(), nn.Linear(32 * 4 * 4, 10))


def train(model, train_set, epochs, seed):
    opt = optim.Adam(model.parameters(), lr=3e-3)
    loader = DataLoader(train_set, batch_size=64, shuffle=True, seed=seed)
    for _ in range(epochs):
        for X, y in loader:
            loss = F.cross_entropy(model(X), y)
            opt.zero_grad()
            loss.backward()
            opt.step()


def grad_cam(model, layer, X):
    """(CAM of shape (N, 8, 8) in [0, 1], predicted classes) for the images X."""
    kept = {}
    handles = [layer.register_forward_hook(lambda m, args, out: kept.update(A=out)),
               layer.register_full_backward_hook(
                   lambda m, grad_in, grad_out: kept.update(G=grad_out[0]))]
    try:
        scores = model(X)
        predicted = scores.argmax(1)
        scores.gather(1, predicted.reshape(-1, 1)).sum().backward()   # Σ_n y^c(n)
    finally:
        for h in handles:
            h.remove()
    with mg.no_grad():
        alpha = kept["G"].mean((2, 3), keepdim=True)                    # (N, C, 1, 1)
        cam = (alpha * kept["A"]).sum(1, keepdim=True).relu()          # (N, 1, 4, 4)
        cam = F.interpolate(cam, size=(8, 8), mode="bilinear", align_corners=False)[:, 0]
        peak = cam.amax((1, 2), keepdim=True)
        cam = cam / (peak + (peak == 0))                               # each in [0, 1]
    return cam, predicted


def deletion_drop(model, X, predicted, rank, k):
    """Mean fall of p(predicted | image) when the k pixels first in ``rank`` (N, 64) are
    set to the background value."""
    with mg.no_grad():
        before = F.softmax(model(X), 1).gather(1, predicted.reshape(-1, 1))
        pixels = X.numpy().reshape(len(X), -1).copy()
        np.put_along_axis(pixels, rank[:, :k], float(X.min()), axis=1)
        after = F.softmax(model(mg.tensor(pixels.reshape(X.shape))), 1).gather(
            1, predicted.reshape(-1, 1))
    return float((before - after).mean())


def ascii_rows(image):
    lo, hi = float(image.min()), float(image.max())
    scale = (len(SHADES) - 1) / (hi - lo or 1.0)
    return ["".join(SHADES[int((float(v) - lo) * scale)] * 2 for v in row)
            for row in image.tolist()]


def main(epochs=6, seed=0, show=3):
    mg.manual_seed(seed)
    train_set, test_set = digits_splits()
    model = build_model()
    train(model, train_set, epochs, seed)
    X, y = test_set.tensors
    cam, predicted = grad_cam(model, model[2], X)
    accuracy = float((predicted == y).float().mean())
    for i in range(show):
        print(f"digit {int(y[i])}, predicted {int(predicted[i])}")
        for left, right in zip(ascii_rows(X[i, 0]), ascii_rows(cam[i])):
            print(f"  {left}    {right}")
    by_cam = np.argsort(-cam.reshape(len(X), -1).numpy(), axis=1, kind="stable")
    rng = np.random.default_rng(seed)
    at_random = np.stack([rng.permutation(64) for _ in range(len(X))])
    cam_drop = deletion_drop(model, X, predicted, by_cam, 16)
    random_drop = deletion_drop(model, X, predicted, at_random, 16)
    print(f"held-out accuracy {accuracy:.1%}; blanking 16 of 64 pixels lowers "
          f"p(predicted class) by {cam_drop:.2f} when Grad-CAM picks them, by "
          f"{random_drop:.2f} when they are random")
    return accuracy, cam_drop, random_drop


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=positive_int, default=6)
    parser.add_argument("--seed", type=nonnegative_int, default=0)
    args = parser.parse_args()
    main(epochs=args.epochs, seed=args.seed)

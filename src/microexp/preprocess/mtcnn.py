"""MTCNN (Zhang et al. 2016) in plain torch: P-Net proposes, R-Net refines, O-Net gives box + 5 points.

The weights are the ones shipped in the ``facenet-pytorch`` wheel; that package itself is never
imported (it needs torchvision), so the three networks are redefined here with the same parameter
names and the cascade follows facenet-pytorch's ``detect_face`` so the shipped weights behave as
trained: RGB input scaled to (x - 127.5) / 128, area resampling, 1-based inclusive box coordinates.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from microexp.preprocess.faces import package_file
from microexp.threads import adopt_torch

adopt_torch()  # this module is imported lazily, perhaps inside a one-thread input build


class PNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 10, 3), nn.PReLU(10)
        self.pool1 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(10, 16, 3), nn.PReLU(16)
        self.conv3, self.prelu3 = nn.Conv2d(16, 32, 3), nn.PReLU(32)
        self.conv4_1 = nn.Conv2d(32, 2, 1)
        self.conv4_2 = nn.Conv2d(32, 4, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.prelu3(self.conv3(self.prelu2(self.conv2(x))))
        return self.conv4_2(x), F.softmax(self.conv4_1(x), dim=1)


class RNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 28, 3), nn.PReLU(28)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(28, 48, 3), nn.PReLU(48)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3, self.prelu3 = nn.Conv2d(48, 64, 2), nn.PReLU(64)
        self.dense4, self.prelu4 = nn.Linear(576, 128), nn.PReLU(128)
        self.dense5_1 = nn.Linear(128, 2)
        self.dense5_2 = nn.Linear(128, 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.prelu3(self.conv3(x))
        # the weights were converted from a (W, H, C)-major framework: flatten in that order
        x = self.prelu4(self.dense4(x.permute(0, 3, 2, 1).reshape(x.shape[0], -1)))
        return self.dense5_2(x), F.softmax(self.dense5_1(x), dim=1)


class ONet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 32, 3), nn.PReLU(32)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(32, 64, 3), nn.PReLU(64)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3, self.prelu3 = nn.Conv2d(64, 64, 3), nn.PReLU(64)
        self.pool3 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv4, self.prelu4 = nn.Conv2d(64, 128, 2), nn.PReLU(128)
        self.dense5, self.prelu5 = nn.Linear(1152, 256), nn.PReLU(256)
        self.dense6_1 = nn.Linear(256, 2)
        self.dense6_2 = nn.Linear(256, 4)
        self.dense6_3 = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.pool3(self.prelu3(self.conv3(x)))
        x = self.prelu4(self.conv4(x))
        x = self.prelu5(self.dense5(x.permute(0, 3, 2, 1).reshape(x.shape[0], -1)))
        return self.dense6_2(x), self.dense6_3(x), F.softmax(self.dense6_1(x), dim=1)


def nms(boxes: torch.Tensor, scores: torch.Tensor, threshold: float, mode: str = "union") -> torch.Tensor:
    """Greedy non-maximum suppression; indexes of kept boxes, best first.

    Overlap is intersection over union, or over the smaller area (``mode="min"``, which MTCNN's last
    stage uses to drop small boxes nested in a face). Boxes are inclusive pixel ranges, hence the +1.
    """
    x0, y0, x1, y1 = boxes.unbind(1)
    areas = (x1 - x0 + 1) * (y1 - y0 + 1)
    order = scores.argsort(descending=True)
    keep = []
    while order.numel() > 0:
        best, rest = order[0], order[1:]
        keep.append(best)
        width = (torch.minimum(x1[best], x1[rest]) - torch.maximum(x0[best], x0[rest]) + 1).clamp(min=0)
        height = (torch.minimum(y1[best], y1[rest]) - torch.maximum(y0[best], y0[rest]) + 1).clamp(min=0)
        inter = width * height
        if mode == "min":
            overlap = inter / torch.minimum(areas[best], areas[rest])
        else:
            overlap = inter / (areas[best] + areas[rest] - inter)
        order = rest[overlap <= threshold]
    return torch.stack(keep) if keep else torch.empty(0, dtype=torch.long)


class MTCNN:
    """Faces in one RGB uint8 image: ``detect(image) -> (boxes (N, 4), scores (N,), points (N, 5, 2))``."""

    def __init__(
        self,
        min_face: int = 40,
        thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7),
        scale_factor: float = 0.709,
        device: str | None = None,
    ) -> None:
        self.min_face = min_face
        self.thresholds = thresholds
        self.scale_factor = scale_factor
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.pnet, self.rnet, self.onet = PNet(), RNet(), ONet()
        for name, net in (("pnet", self.pnet), ("rnet", self.rnet), ("onet", self.onet)):
            weights = torch.load(package_file("facenet_pytorch", "data", f"{name}.pt"), weights_only=True)
            net.load_state_dict(weights)
            net.to(self.device).eval()

    @torch.inference_mode()
    def detect(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        img = torch.as_tensor(image, device=self.device).permute(2, 0, 1)[None].float()
        boxes = self._propose(img)
        if len(boxes):
            boxes = self._refine(img, boxes)
        if len(boxes) == 0:
            return np.zeros((0, 4)), np.zeros(0), np.zeros((0, 5, 2))
        boxes, points = self._output(img, boxes)
        return boxes[:, :4].cpu().numpy(), boxes[:, 4].cpu().numpy(), points.cpu().numpy()

    def _propose(self, img: torch.Tensor) -> torch.Tensor:
        """P-Net over an image pyramid: candidate boxes (N, 5) = x0, y0, x1, y1, score."""
        height, width = img.shape[2:]
        scale = 12.0 / self.min_face  # P-Net sees 12 px windows: scale so min_face maps to 12 px
        side = min(height, width) * scale
        candidates = []
        while side >= 12:
            resized = F.interpolate(img, size=(int(height * scale + 1), int(width * scale + 1)), mode="area")
            reg, probs = self.pnet(_normalise(resized))
            found = _grid_boxes(reg[0], probs[0, 1], scale, self.thresholds[0])
            candidates.append(found[nms(found[:, :4], found[:, 4], 0.5)])
            scale *= self.scale_factor
            side *= self.scale_factor
        boxes = torch.cat(candidates)
        boxes = boxes[nms(boxes[:, :4], boxes[:, 4], 0.7)]
        size = (boxes[:, 2:4] - boxes[:, 0:2]).repeat(1, 2)
        refined = boxes[:, :4] + boxes[:, 5:9] * size
        return _square(torch.cat([refined, boxes[:, 4:5]], dim=1))

    def _refine(self, img: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        reg, probs = self.rnet(_crops(img, boxes, 24))
        keep = probs[:, 1] > self.thresholds[1]
        boxes = torch.cat([boxes[keep, :4], probs[keep, 1:2]], dim=1)
        reg = reg[keep]
        picked = nms(boxes[:, :4], boxes[:, 4], 0.7)
        return _square(_regress(boxes[picked], reg[picked]))

    def _output(self, img: torch.Tensor, boxes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        reg, marks, probs = self.onet(_crops(img, boxes, 48))
        keep = probs[:, 1] > self.thresholds[2]
        boxes = torch.cat([boxes[keep, :4], probs[keep, 1:2]], dim=1)
        reg, marks = reg[keep], marks[keep]
        size = boxes[:, 2:4] - boxes[:, 0:2] + 1
        points = torch.stack(
            [
                size[:, None, 0] * marks[:, :5] + boxes[:, None, 0] - 1,
                size[:, None, 1] * marks[:, 5:] + boxes[:, None, 1] - 1,
            ],
            dim=2,
        )
        boxes = _regress(boxes, reg)
        picked = nms(boxes[:, :4], boxes[:, 4], 0.7, mode="min")
        return boxes[picked], points[picked]


def _normalise(pixels: torch.Tensor) -> torch.Tensor:
    return (pixels - 127.5) * 0.0078125


def _grid_boxes(reg: torch.Tensor, probs: torch.Tensor, scale: float, threshold: float) -> torch.Tensor:
    """P-Net output cells above threshold as image boxes (N, 9): x0, y0, x1, y1, score, 4 offsets."""
    stride, cell = 2, 12
    rows, cols = torch.nonzero(probs >= threshold, as_tuple=True)
    corner = torch.stack([cols, rows], dim=1).to(reg.dtype)
    top_left = ((stride * corner + 1) / scale).floor()
    bottom_right = ((stride * corner + cell) / scale).floor()
    return torch.cat([top_left, bottom_right, probs[rows, cols, None], reg[:, rows, cols].T], dim=1)


def _regress(boxes: torch.Tensor, reg: torch.Tensor) -> torch.Tensor:
    size = (boxes[:, 2:4] - boxes[:, 0:2] + 1).repeat(1, 2)
    return torch.cat([boxes[:, :4] + reg * size, boxes[:, 4:]], dim=1)


def _square(boxes: torch.Tensor) -> torch.Tensor:
    """Grow each box to a square around its centre, as the next network expects."""
    size = boxes[:, 2:4] - boxes[:, 0:2]
    side = size.max(dim=1).values
    top_left = boxes[:, 0:2] + size * 0.5 - side[:, None] * 0.5
    return torch.cat([top_left, top_left + side[:, None], boxes[:, 4:]], dim=1)


def _crops(img: torch.Tensor, boxes: torch.Tensor, side: int) -> torch.Tensor:
    """Box contents clamped to the image, resized to side × side and normalised for the next network."""
    height, width = img.shape[2:]
    corners = boxes[:, :4].trunc().int().tolist()
    crops = []
    for x0, y0, x1, y1 in corners:
        # keep at least one pixel so crops stay aligned with boxes even for a box outside the image
        x0, y0 = min(max(x0, 1), width), min(max(y0, 1), height)
        x1, y1 = max(min(x1, width), x0), max(min(y1, height), y0)
        crops.append(F.interpolate(img[:, :, y0 - 1 : y1, x0 - 1 : x1], size=(side, side), mode="area"))
    return _normalise(torch.cat(crops))

"""Where a model puts micro- and macro-expression clips: a 2-D embedding (PCA) of features, one panel per
model, coloured by class and marked by domain. For macro-to-micro transfer, MiNet's spatial features before
alignment (trained on micro clips alone) and after (taught by MaNet), on the same clips."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

COLOURS = ("tab:red", "tab:green", "tab:blue", "tab:orange", "tab:purple", "tab:brown", "tab:pink")
MARKERS = {"micro": "o", "macro": "^"}


def embed_2d(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, 2) principal-component coordinates of ``features`` (N, D) and the share of variance the two
    components explain; the projection is fitted on these rows, micro and macro together, so neither domain
    sets the axes alone."""
    from sklearn.decomposition import PCA

    pca = PCA(n_components=2, random_state=0).fit(features)
    return pca.transform(features), pca.explained_variance_ratio_


def domain_gap(coords: np.ndarray, domains: Sequence[str]) -> float:
    """Distance between the micro and macro centroids in the embedding, over the mean spread of the points
    about their own domain's centroid: 0 when the domains overlap, large when apart."""
    domains = np.asarray(domains)
    centres = {d: coords[domains == d].mean(0) for d in ("micro", "macro")}
    spread = np.mean([np.linalg.norm(coords[domains == d] - c, axis=1).mean() for d, c in centres.items()])
    return float(np.linalg.norm(centres["micro"] - centres["macro"]) / max(spread, 1e-12))


def plot_domain_embedding(
    panels: Mapping[str, np.ndarray], labels: Sequence[int], domains: Sequence[str], classes: Sequence[str]
):
    """A matplotlib figure, one panel per entry of ``panels`` (title -> features (N, D) of the same clips):
    PCA of the features, colour = class, circle = micro, triangle = macro; each title gives the domain gap
    (:func:`domain_gap`)."""
    from matplotlib.figure import Figure  # not pyplot: no display or global state

    labels, domains = np.asarray(labels), np.asarray(domains)
    figure = Figure(figsize=(5.2 * len(panels), 5))
    for index, (title, features) in enumerate(panels.items()):
        axes = figure.add_subplot(1, len(panels), index + 1)
        coords, explained = embed_2d(np.asarray(features, dtype=np.float64))
        for domain, marker in MARKERS.items():
            for label, name in enumerate(classes):
                chosen = (domains == domain) & (labels == label)
                if chosen.any():
                    axes.scatter(
                        coords[chosen, 0], coords[chosen, 1], s=40 if domain == "macro" else 14, marker=marker,
                        c=COLOURS[label % len(COLOURS)], alpha=0.9 if domain == "macro" else 0.45,
                        edgecolors="black" if domain == "macro" else "none", linewidths=0.6,
                        label=f"{domain} {name}",
                    )
        axes.set_title(f"{title}\ndomain gap {domain_gap(coords, domains):.2f}")
        axes.set_xlabel(f"PC1 ({explained[0]:.0%} of variance)")
        axes.set_ylabel(f"PC2 ({explained[1]:.0%})")
        axes.legend(fontsize=7, loc="best")
    figure.tight_layout()
    return figure

"""Small charts for materialization metadata, so an analyst sees them in the Dagster UI
without a SQL client. Rendered off-screen (Agg) and embedded in Markdown as a PNG."""

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def segment_mix_chart_markdown(mix: pd.DataFrame) -> str:
    """Actual share of clients per segment as bars against the healthy range."""
    fig, ax = plt.subplots(figsize=(5.5, 2.6), dpi=100)
    positions = range(len(mix))
    ax.bar(
        positions,
        mix["healthy_max_share"] - mix["healthy_min_share"],
        bottom=mix["healthy_min_share"],
        width=0.7,
        color="#cfe8cf",
        label="healthy range",
    )
    ax.bar(positions, mix["client_share"], width=0.35, color="#3b6ea8", label="actual")
    ax.set_xticks(list(positions), mix["segment"])
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_ylabel("share of clients")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return _png_markdown(fig, "segment mix: actual vs healthy")


def _png_markdown(fig, alt: str) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"![{alt}](data:image/png;base64,{encoded})"


def white_space_matrix_markdown(matrix: pd.DataFrame) -> str:
    """Adoption share per peer group (rows) and product family (columns) as a heat map:
    the pale cells of a group are its white space."""
    if matrix.empty:
        return "no client buys a product family in the window"
    fig, ax = plt.subplots(
        figsize=(1.2 + 0.55 * len(matrix.columns), 1.0 + 0.32 * len(matrix)), dpi=100
    )
    image = ax.imshow(matrix.to_numpy(dtype=float), cmap="Blues", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(matrix.columns)), matrix.columns, rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(len(matrix)), matrix.index, fontsize=7)
    for (row, col), share in np.ndenumerate(matrix.to_numpy(dtype=float)):
        ax.text(
            col,
            row,
            f"{share:.0%}",
            ha="center",
            va="center",
            fontsize=6,
            color="white" if share > 0.6 else "black",
        )
    fig.colorbar(image, ax=ax, format=matplotlib.ticker.PercentFormatter(1.0), shrink=0.8)
    ax.set_title("share of the peer group buying the family", fontsize=8)
    fig.tight_layout()
    return _png_markdown(fig, "white space: adoption by peer group and family")


def funnel_chart_markdown(stages: pd.DataFrame) -> str:
    """Share of each sub-segment's deals reaching each stage (first_contact = 100%)."""
    fig, ax = plt.subplots(figsize=(6, 2.8), dpi=100)
    for group, rows in stages.groupby("group_value", sort=True):
        start = rows["deals_reached"].iloc[0]
        if start:
            ax.plot(rows["stage"], rows["deals_reached"] / start, marker="o", label=group)
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_ylabel("deals reaching the stage")
    ax.tick_params(axis="x", labelrotation=30, labelsize=7)
    ax.legend(fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return _png_markdown(fig, "sales funnel per sub-segment")


def pareto_chart_markdown(revenue: pd.Series, a_share: float, b_share: float) -> str:
    """Revenue concentration: the cumulative share of revenue against the share of paying
    clients, largest first, with the ABC class bounds."""
    ordered = revenue[revenue > 0].sort_values(ascending=False).to_numpy(dtype=float)
    if not len(ordered):
        return "no client with revenue in the window"
    cumulative = np.cumsum(ordered) / ordered.sum()
    clients = np.arange(1, len(ordered) + 1) / len(ordered)
    fig, ax = plt.subplots(figsize=(5.5, 2.8), dpi=100)
    ax.plot(np.r_[0, clients], np.r_[0, cumulative], color="#3b6ea8")
    for bound, label in ((a_share, "A"), (b_share, "B")):
        ax.axhline(bound, color="#999999", linewidth=0.8, linestyle="--")
        ax.text(1.0, bound, f" {label} to {bound:.0%}", va="center", fontsize=7)
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_xlabel("paying clients, largest first")
    ax.set_ylabel("share of revenue")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return _png_markdown(fig, "revenue concentration (Pareto) with the ABC bounds")


def revenue_at_risk_chart_markdown(mix: pd.DataFrame) -> str:
    """Revenue t12m per segment with the part at high retention risk."""
    fig, ax = plt.subplots(figsize=(5.5, 2.6), dpi=100)
    positions = range(len(mix))
    ax.bar(positions, mix["revenue_t12m"], width=0.6, color="#cfd8e3", label="revenue t12m")
    ax.bar(positions, mix["revenue_at_risk"], width=0.6, color="#c0504d", label="at high risk")
    ax.set_xticks(list(positions), mix["segment"])
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:,.0f}"))
    ax.legend(fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return _png_markdown(fig, "revenue at risk by segment")

"""Small charts for materialization metadata, so an analyst sees them in the Dagster UI
without a SQL client. Rendered off-screen (Agg) and embedded in Markdown as a PNG."""

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
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
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"![segment mix: actual vs healthy](data:image/png;base64,{encoded})"

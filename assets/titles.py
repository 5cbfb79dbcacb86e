"""Contact role from a job title, Russian or English (docs/leads.md, BANT authority).

Titles are free text: case, abbreviations ("ген. директор"), extra words ("Chief
Financial Officer, Moscow branch") and word forms vary. Rules are tried in order and
the first match wins, so the narrow exceptions (a deputy, an IT specialist) come
before the broad patterns they would otherwise fall into.
"""

from __future__ import annotations

import re

import pandas as pd

from assets.vocabulary import ContactRole

# (role, pattern). Patterns run on the lower-cased title with "ё" folded to "е" and
# runs of spaces, dots and dashes collapsed to one space.
_RULES: list[tuple[ContactRole, str]] = [
    # A deputy prepares the decision but does not own the budget.
    (ContactRole.INFLUENCER, r"\b(зам|заместитель|deputy|vice|assistant to)\b"),
    # Economic buyers: owner, chief executive, finance and commercial directors.
    (
        ContactRole.DECISION_MAKER,
        r"\b(владелец|собственник|совладелец|учредитель|founder|co founder|owner|"
        r"президент|president|ceo|cfo|cco|chief executive|chief financial|chief commercial|"
        r"managing director|general manager|director general|генеральный директор|"
        r"ген директор|гендиректор|исполнительный директор|финансовый директор|"
        r"финдиректор|директор по финансам|finance director|financial director|"
        r"коммерческий директор|commercial director|директор по продажам|sales director|"
        r"директор компании|руководитель компании|глава компании|head of company|"
        # A bare "director" in a Russian company is its head.
        r"^директор$|^director$)\b",
    ),
    # Technical buyers: heads of production, IT and projects, chief engineers.
    (
        ContactRole.TECHNICAL,
        r"\b(начальник производства|руководитель производства|директор по производству|"
        r"head of production|production director|production manager|"
        r"технический директор|cto|chief technology|chief technical|chief information|cio|"
        r"it директор|ит директор|директор по it|директор по ит|head of it|it director|"
        r"it manager|it специалист|ит специалист|it specialist|системный администратор|"
        r"system administrator|sysadmin|главный инженер|chief engineer|"
        r"руководитель проекта|директор проекта|project director|project manager|"
        r"head of project|руководитель it|руководитель ит)\b",
    ),
    # Influencers: procurement and heads of departments.
    (
        ContactRole.INFLUENCER,
        r"\b(закуп\w*|снабжен\w*|procurement|purchasing|buyer|"
        r"руководитель отдела|начальник отдела|head of|department head|"
        r"главный бухгалтер|chief accountant|юрист|lawyer|legal counsel|"
        r"директор по \w+|director|директор)\b",
    ),
    # End users: the people who will use the service day to day.
    (
        ContactRole.END_USER,
        r"\b(специалист|specialist|менеджер|manager|инженер|engineer|бухгалтер|accountant|"
        r"оператор|operator|секретарь|secretary|ассистент|assistant|администратор|"
        r"administrator|сотрудник|employee|consultant|консультант|аналитик|analyst)\b",
    ),
]
_COMPILED = [(role.value, re.compile(pattern)) for role, pattern in _RULES]


def normalize_title(title: str) -> str:
    text = title.lower().replace("ё", "е")
    text = re.sub(r"[\s.\-–—_/,]+", " ", text)
    return text.strip()


def infer_role(title: str | None) -> str | None:
    """decision_maker / technical / influencer / end_user, or None when the title says
    nothing (then BANT authority is unknown and scores 1)."""
    if title is None or not str(title).strip():
        return None
    text = normalize_title(str(title))
    for role, pattern in _COMPILED:
        if pattern.search(text):
            return role
    return None


def infer_roles(titles: pd.Series) -> pd.Series:
    """infer_role for a column of titles, on the same index. Each distinct title is
    matched once: titles repeat across leads, and the patterns are the cost."""
    roles = {title: infer_role(title) for title in titles.dropna().unique()}
    return titles.map(roles)

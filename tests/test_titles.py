"""Contact role inferred from Russian and English job titles (docs/leads.md, authority)."""

import pandas as pd
import pytest

from assets.titles import infer_role, infer_roles

TITLES = [
    # economic buyers
    ("Генеральный директор", "decision_maker"),
    ("ген. директор", "decision_maker"),
    ("Ген.директор", "decision_maker"),
    ("ГЕНЕРАЛЬНЫЙ ДИРЕКТОР ООО «Ромашка»", "decision_maker"),
    ("Гендиректор", "decision_maker"),
    ("Директор", "decision_maker"),
    ("CEO", "decision_maker"),
    ("ceo & founder", "decision_maker"),
    ("Chief Executive Officer", "decision_maker"),
    ("Chief Financial Officer", "decision_maker"),
    ("CFO, Moscow branch", "decision_maker"),
    ("Финансовый директор", "decision_maker"),
    ("Финдиректор", "decision_maker"),
    ("Директор по финансам", "decision_maker"),
    ("Коммерческий директор", "decision_maker"),
    ("Commercial Director", "decision_maker"),
    ("Владелец бизнеса", "decision_maker"),
    ("Собственник", "decision_maker"),
    ("Owner", "decision_maker"),
    ("Managing Director", "decision_maker"),
    ("Президент компании", "decision_maker"),
    # technical buyers
    ("Начальник производства", "technical"),
    ("начальник  производства", "technical"),
    ("Head of Production", "technical"),
    ("Руководитель проекта", "technical"),
    ("Директор проекта", "technical"),
    ("Project Director", "technical"),
    ("Технический директор", "technical"),
    ("CTO", "technical"),
    ("IT-специалист", "technical"),
    ("ИТ-специалист", "technical"),
    ("IT Director", "technical"),
    ("Директор по ИТ", "technical"),
    ("Главный инженер", "technical"),
    ("Системный администратор", "technical"),
    # influencers
    ("менеджер по закупкам", "influencer"),
    ("Специалист отдела снабжения", "influencer"),
    ("Procurement Manager", "influencer"),
    ("Head of Sales", "influencer"),
    ("Руководитель отдела продаж", "influencer"),
    ("Заместитель генерального директора", "influencer"),
    ("Зам. директора", "influencer"),
    ("Deputy CEO", "influencer"),
    ("Главный бухгалтер", "influencer"),
    ("Директор по маркетингу", "influencer"),
    # end users
    ("Office Manager", "end_user"),
    ("Менеджер по продажам", "end_user"),
    ("Бухгалтер", "end_user"),
    ("Инженер", "end_user"),
    ("Оператор call-центра", "end_user"),
    ("Секретарь", "end_user"),
    # nothing to go on
    ("Стажёр", None),
    ("", None),
    ("   ", None),
    (None, None),
]


def test_the_table_has_at_least_forty_titles():
    assert len(TITLES) >= 40


@pytest.mark.parametrize(("title", "role"), TITLES)
def test_role_from_title(title, role):
    assert infer_role(title) == role


def test_roles_of_a_column_match_the_role_of_each_title():
    titles = pd.Series([title for title, _ in TITLES] * 2, index=range(10, 10 + 2 * len(TITLES)))
    roles = infer_roles(titles)
    assert roles.index.equals(titles.index)
    assert [None if pd.isna(r) else r for r in roles] == [role for _, role in TITLES] * 2

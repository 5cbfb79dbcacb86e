"""The closed sets of names the business rules speak in, each declared once.

Every module of `assets/` and `expectations/` takes its names from here: the rules that
assign a value, the config that keys thresholds by it, and the quality suite that
accepts it. The members are `StrEnum`s, so a member is its string (`Segment.VIP ==
"vip"`); where a name is written into a published table the rules use the member's
`.value` or the tuples at the end (SEGMENTS, RETENTION_FLAGS, ...), which hold plain
strings, so that a table holds `str`, never an enum member.

The sets that the export contract also lists (`config/contract.yml`: contact roles,
lead sources, need, deal stages, the manager's potential, the export names) are held
equal to it by tests/test_rules_vocabulary.py.
"""

from __future__ import annotations

from enum import StrEnum


def names(members: type[StrEnum]) -> tuple[str, ...]:
    """The members' values as plain strings, in declaration order."""
    return tuple(member.value for member in members)


class Segment(StrEnum):
    """Client segment (docs/segments.md), in the order its rules are reported."""

    VIP = "vip"
    STRATEGIC = "strategic"
    TYPICAL = "typical"
    BALLAST = "ballast"


class SizeTier(StrEnum):
    """Size tier by head count, else by annual revenue (docs/tiers.md)."""

    SOHO = "soho"
    SMB = "smb"
    UMM = "umm"
    ENTERPRISE = "enterprise"
    UNKNOWN = "unknown"


class CorporateTier(StrEnum):
    """Corporate tier by revenue rank (docs/tiers.md); the key accounts between the two are
    `key_1`..`key_<corporate_tiers.key_levels>` (`key_tier`)."""

    TOP100 = "top100"
    MASS = "mass"


class AbcClass(StrEnum):
    A = "A"
    B = "B"
    C = "C"


class Potential(StrEnum):
    """The manager's estimate of a client's potential (accounts.potential)."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    NONE = "none"


class DealStage(StrEnum):
    FIRST_CONTACT = "first_contact"
    NEEDS_ANALYSIS = "needs_analysis"
    PRESENTATION = "presentation"
    OBJECTIONS = "objections"
    NEGOTIATION = "negotiation"
    CONTRACT = "contract"
    WON = "won"
    LOST = "lost"


class MixStatus(StrEnum):
    """A segment's share of clients against its healthy range (segments.healthy_mix)."""

    BELOW = "below"
    WITHIN = "within"
    ABOVE = "above"


class RetentionFlag(StrEnum):
    """Retention-risk flags (docs/retention.md), in the order the rules evaluate them."""

    REVENUE_DECLINE = "revenue_decline"
    LAPSED = "lapsed"
    PAYMENT_DELAY = "payment_delay"
    CONTRACT_EXPIRING = "contract_expiring"
    PRODUCT_CONTRACTION = "product_contraction"
    LOW_SATISFACTION = "low_satisfaction"
    NO_CONTACT = "no_contact"
    DECISION_MAKER_LOST = "decision_maker_lost"
    OWNERSHIP_CHANGE = "ownership_change"


class Severity(StrEnum):
    """A flag's severity, most severe first."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class RiskLevel(StrEnum):
    """A client's retention-risk level, rolled up from its flags."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class ContactRole(StrEnum):
    """A contact's role in the buying decision (contacts.role, leads.contact_role)."""

    DECISION_MAKER = "decision_maker"
    TECHNICAL = "technical"
    INFLUENCER = "influencer"
    END_USER = "end_user"


class BuyerClass(StrEnum):
    """The classic economic / technical / user split of buyers (docs/leads.md)."""

    ECONOMIC = "economic"
    TECHNICAL = "technical"
    END_USER = "end_user"


class Need(StrEnum):
    """A lead's need as the CRM records it (leads.need)."""

    CONFIRMED = "confirmed"
    INTERESTED = "interested"
    RESEARCHING = "researching"
    UNKNOWN = "unknown"


class BantComponent(StrEnum):
    """The BANT components, in the order they are scored and multiplied."""

    BUDGET = "budget"
    AUTHORITY = "authority"
    NEED = "need"
    TIME = "time"


class Readiness(StrEnum):
    """How ready a lead is to buy, by how it came (docs/leads.md)."""

    HOT = "hot"
    WARM = "warm"
    COLD = "cold"


class LeadSource(StrEnum):
    """How a lead came (leads.source)."""

    INBOUND_REQUEST = "inbound_request"
    WEB_FORM = "web_form"
    CALL_CENTRE = "call_centre"
    EXISTING_CLIENT_OFFER = "existing_client_offer"
    INFO_REQUEST = "info_request"
    COLD_LIST = "cold_list"
    EVENT = "event"
    REFERRAL = "referral"


class RevenueSource(StrEnum):
    """Where revenue comes from (revenue.source)."""

    INVOICES = "invoices"
    WON_DEALS = "won_deals"


class Export(StrEnum):
    """The night's exports, by contract name."""

    ACCOUNTS = "accounts"
    CONTACTS = "contacts"
    DEALS = "deals"
    DEAL_STAGE_HISTORY = "deal_stage_history"
    LEADS = "leads"
    ACTIVITIES = "activities"
    FEEDBACK = "feedback"
    INVOICE_LINES = "invoice_lines"
    CONTRACTS = "contracts"
    FX_RATES = "fx_rates"
    PRODUCTS = "products"


KEY_TIER_PREFIX = "key_"


def key_tier(level: int) -> str:
    """The corporate tier of the key accounts of `level` (1 = the highest ranked)."""
    return f"{KEY_TIER_PREFIX}{level}"


def corporate_tiers(key_levels: int) -> tuple[str, ...]:
    """Every corporate tier with `key_levels` levels of key accounts."""
    return (
        CorporateTier.TOP100.value,
        CorporateTier.MASS.value,
        *(key_tier(level) for level in range(1, key_levels + 1)),
    )


SEGMENTS = names(Segment)
SIZE_TIERS = names(SizeTier)
# The upper sub-segment: account-based work, long cycles (docs/tiers.md).
UPPER_SIZE_TIERS = (SizeTier.UMM.value, SizeTier.ENTERPRISE.value)
# The tiers with a lower bound in size_tiers.employees / size_tiers.annual_revenue
# (soho is everything below smb's), smallest first.
BOUNDED_SIZE_TIERS = (SizeTier.SMB.value, SizeTier.UMM.value, SizeTier.ENTERPRISE.value)
ABC_CLASSES = names(AbcClass)
OPEN_DEAL_STAGES = tuple(s.value for s in DealStage if s not in (DealStage.WON, DealStage.LOST))
RETENTION_FLAGS = names(RetentionFlag)
SEVERITIES = names(Severity)
RISK_LEVELS = names(RiskLevel)
CONTACT_ROLES = names(ContactRole)
BUYER_CLASSES = names(BuyerClass)
BANT_COMPONENTS = names(BantComponent)
READINESS_LEVELS = names(Readiness)
REVENUE_SOURCES = names(RevenueSource)

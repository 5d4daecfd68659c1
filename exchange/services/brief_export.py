"""A published brief as others take it away: Markdown, a print page, an Atom feed, and
the difference between two of its versions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from xml.etree import ElementTree as ET

from exchange.domain.diff import Piece, word_diff
from exchange.i18n import gettext as _
from exchange.models.accounts import User
from exchange.models.briefs import Brief, BriefVersion
from exchange.services import briefs


def markdown_of(version: BriefVersion, network: str, url: str) -> str:
    """The version as a Markdown document, with its number, date and source."""
    lines = [
        f"# {version.title}",
        "",
        _("%(network)s · version %(number)d · %(date)s")
        % {"network": network, "number": version.number, "date": version.published_at.date()},
        "",
    ]
    if version.summary:
        lines += [version.summary, ""]
    if version.challenges:
        lines += [_("Challenges: %(list)s") % {"list": ", ".join(version.challenges)}, ""]
    if version.findings:
        lines += [f"## {_('Findings')}", ""]
        for number, finding in enumerate(version.findings, 1):
            lines += [f"### {number}. {finding['title']}", ""]
            if finding.get("body"):
                lines += [finding["body"], ""]
            if finding.get("cities"):
                lines += [_("Cities: %(list)s") % {"list": ", ".join(finding["cities"])}, ""]
    if version.recommendations:
        lines += [f"## {_('Recommendations')}", "", version.recommendations, ""]
    if version.disclaimer:
        lines += ["---", "", f"*{version.disclaimer}*", ""]
    lines += [_("Source: %(url)s") % {"url": url}, ""]
    return "\n".join(lines)


def version_text(version: BriefVersion) -> dict[str, str]:
    """The parts of a version a reader compares, as plain text."""
    findings_text = "\n\n".join(
        f"{n}. {f['title']}\n{f.get('body', '')}"
        + ("\n" + ", ".join(f["cities"]) if f.get("cities") else "")
        for n, f in enumerate(version.findings, 1)
    )
    return {
        "title": version.title,
        "summary": version.summary,
        "findings": findings_text,
        "recommendations": version.recommendations,
    }


@dataclass(frozen=True)
class VersionDiff:
    old: BriefVersion
    new: BriefVersion
    parts: list[tuple[str, list[Piece]]]


async def diff_versions(user: User | None, brief_id: int, old: int, new: int) -> VersionDiff:
    """Any two versions side by side, word by word (404 for a version that is not there)."""
    before = await briefs.version_of(user, brief_id, old)
    after = await briefs.version_of(user, brief_id, new)
    a, b = version_text(before), version_text(after)
    return VersionDiff(before, after, [(name, word_diff(a[name], b[name])) for name in a])


def atom_feed(
    items: list[tuple[Brief, str]], feed_url: str, title: str, updated: datetime
) -> bytes:
    """An Atom 1.0 feed of public briefs: (brief, its page URL) each."""
    ns = "http://www.w3.org/2005/Atom"
    ET.register_namespace("", ns)
    feed = ET.Element(f"{{{ns}}}feed")
    ET.SubElement(feed, f"{{{ns}}}title").text = title
    ET.SubElement(feed, f"{{{ns}}}id").text = feed_url
    ET.SubElement(feed, f"{{{ns}}}updated").text = updated.isoformat()
    ET.SubElement(feed, f"{{{ns}}}link", rel="self", href=feed_url)
    for brief, url in items:
        entry = ET.SubElement(feed, f"{{{ns}}}entry")
        ET.SubElement(entry, f"{{{ns}}}title").text = brief.title
        ET.SubElement(entry, f"{{{ns}}}id").text = url
        ET.SubElement(entry, f"{{{ns}}}link", href=url)
        assert brief.published_at is not None
        ET.SubElement(entry, f"{{{ns}}}updated").text = brief.published_at.isoformat()
        ET.SubElement(entry, f"{{{ns}}}summary").text = brief.summary[:1000]
        author = ET.SubElement(entry, f"{{{ns}}}author")
        ET.SubElement(author, f"{{{ns}}}name").text = title
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body

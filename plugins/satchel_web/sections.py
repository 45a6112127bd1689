"""Version-page sections contributed through ``satchel_web_version_sections``."""

from dataclasses import dataclass

from markupsafe import Markup


@dataclass
class Section:
    """A titled block of the version page; ``html`` is trusted markup (escape what you put in it)."""

    title: str
    html: Markup | str
    order: int = 100
    id: str = ""


def collect(request, stage, project, version, metadata, links) -> list[Section]:
    results = request.app.hook.satchel_web_version_sections(
        request=request, stage=stage, project=project, version=version, metadata=metadata, links=links)
    sections = []
    for result in results:
        sections.extend(result if isinstance(result, (list, tuple)) else [result])
    sections = [s for s in sections if s is not None]
    for section in sections:
        section.html = Markup(section.html)
    return sorted(sections, key=lambda s: (s.order, s.title))

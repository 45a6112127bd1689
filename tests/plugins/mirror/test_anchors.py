"""Project names from a streamed HTML project list (``satchel_mirror.anchors``)."""

from satchel_mirror.anchors import CARRY_LIMIT, anchor_names

PAGE = b"""<!DOCTYPE html>
<html><head><meta name="pypi:repository-version" content="1.1"><title>Simple index</title></head>
<body>
  <a href="/simple/first-pkg/">first-pkg</a>
  <A HREF="/simple/Upper.Case/">Upper.Case</A>
  <a href='/simple/amp/'>a &amp; b</a>
  <a href=/simple/from-href/></a>
  <a class="x" href="/simple/nested/"><span>nested</span></a>
  <!-- <a href="/simple/commented/">commented</a> -->
  <a href="https://elsewhere.example/simple/absolute/?q=1#frag"> </a>
  <a>no-href</a>
</body></html>
"""
EXPECTED = ["first-pkg", "Upper.Case", "a & b", "from-href", "nested", "absolute", "no-href"]


def test_names_from_text_or_href():
    assert list(anchor_names([PAGE])) == EXPECTED


def test_any_chunking_gives_the_same_names():
    for size in (1, 2, 3, 7, 16, 100):
        chunks = [PAGE[i:i + size] for i in range(0, len(PAGE), size)]
        assert list(anchor_names(chunks)) == EXPECTED, size


def test_encoding_of_the_response_is_used():
    page = '<a href="/simple/caf\u00e9/">caf\u00e9</a>'.encode("latin-1")
    assert list(anchor_names([page], "latin-1")) == ["caf\u00e9"]


def test_text_without_anchors_is_not_kept_in_memory():
    filler = b"x" * (CARRY_LIMIT // 4)
    chunks = [filler] * 8 + [b'<a href="/simple/late/">late</a>']
    assert list(anchor_names(chunks)) == ["late"]


def test_an_anchor_never_closed_is_dropped():
    chunks = [b'<a href="/simple/open/">', b"y" * (CARRY_LIMIT + 10), b'<a href="/simple/next/">next</a>']
    assert list(anchor_names(chunks)) == ["next"]

"""One module per helper (issue 12): timestamps in satchel.clock, booleans in satchel.model.coerce, the URL
layout's path patterns in satchel.web.patterns. Runtime code (core/ and plugins/, the test kit aside) keeps no
private copies."""

import re

import pytest

RULES = [
    # (what, a regular expression of a private copy, the one module allowed to hold it)
    ("timestamp formatting/parsing", re.compile(r"\b(strftime|strptime|gmtime|parsedate_to_datetime)\b"),
     "satchel.clock"),
    ("the user/index path pattern", re.compile(r"\(\?P<(user|index)>"), "satchel.web.patterns"),
    ("reading booleans", re.compile(r"^\s*def to_bool\b", re.MULTILINE), "satchel.model.coerce"),
]


@pytest.mark.parametrize("what, pattern, home", RULES, ids=[rule[0] for rule in RULES])
def test_no_private_copies(source_tree, what, pattern, home):
    assert pattern.search(source_tree.modules[home].text), f"{home} no longer holds {what}"
    copies = [f"{module.relpath}:{module.text.count(chr(10), 0, match.start()) + 1}"
              for module in source_tree.modules.values()
              if module.name != home and not module.name.startswith("satchel.testing")
              for match in pattern.finditer(module.text)]
    assert not copies, f"{what} belongs in {home}; copies:\n" + "\n".join(copies)

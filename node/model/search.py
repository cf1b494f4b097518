"""Search tokens for Chinese and mixed text: overlapping CJK bigrams and Latin/digit words.

SQLite's FTS5 tokenizers cannot find a two-character Chinese query (人口) from their index.
Instead every indexed text is turned into space-separated tokens that FTS5's `unicode61`
tokenizer keeps whole, and a query into a phrase of the same tokens:

- a run of CJK characters c1..cn becomes the bigrams c1c2 .. c(n-1)cn followed by the lone
  last character cn, so that any substring of two or more characters is a phrase of
  consecutive bigrams, and a single character X is the prefix query X* (every X in the text
  starts a bigram or ends a run);
- a run of letters and digits becomes one lowercase word; the last word of a query matches as
  a prefix (cens -> census).

An entry's values of the filters a search offers besides region and provider (category, share
type, update cycle, open type) are tokens too, in a column of their own (`entry_filter_tokens`:
one token for each combination of them), so that a filtered search is one walk of the index in code order that stops at the page's end,
instead of a check of every match against the entries table.
"""

from __future__ import annotations

import functools
import itertools
import operator
import re
import unicodedata

from node.model import regions, rules

# CJK ideographs (with extension A and compatibility forms), kana and hangul are written
# without spaces and are split into bigrams; letters and digits of other scripts form words.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_RUN = re.compile(f"([{_CJK}]+)|([^\\W_{_CJK}]+)")


_FULL_WIDTH = re.compile("[\u3000\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\uf900-\ufaff]")


def _runs(text: str) -> list[tuple[str, str]]:
    """(cjk, word) pairs of the normalised text; exactly one of the two is non-empty."""
    if _FULL_WIDTH.search(text):  # NFKC costs more than the rest: only where it changes a token
        text = unicodedata.normalize("NFKC", text)
    return _RUN.findall(text.lower())


def index_tokens(*texts: str) -> str:
    """The FTS5 document for the given texts."""
    return " ".join(filter(None, map(text_tokens, texts)))


@functools.lru_cache(maxsize=65536)  # provider names, keywords and data item names repeat across a catalog
def text_tokens(text: str) -> str:
    out: list[str] = []
    for cjk, word in _runs(text):
        if cjk:
            out.extend(map(operator.add, cjk, cjk[1:]))
            out.append(cjk[-1])
        else:
            out.append(word)
    return " ".join(out)


def query_phrase(query: str) -> str | None:
    """The FTS5 MATCH expression for a user's query, or None when it holds nothing searchable.

    The query's runs must stand next to each other in the text, so they form one phrase:
    a CJK run followed by more of the query ends there in the text too (its lone last
    character is part of the phrase); the query's last run may continue in the text.
    """
    runs = [(True, cjk) if cjk else (False, word) for cjk, word in _runs(query)]
    if not runs:
        return None
    tokens: list[str] = []
    for i, (is_cjk, run) in enumerate(runs):
        last = i == len(runs) - 1
        if not is_cjk:
            tokens.append(run)
        elif len(run) == 1:
            tokens.append(run)
        else:
            tokens.extend(run[j : j + 2] for j in range(len(run) - 1))
            if not last:
                tokens.append(run[-1])
    last_is_prefix = not runs[-1][0] or len(runs[-1][1]) == 1
    phrase = '"' + " ".join(tokens) + '"'
    return phrase + "*" if last_is_prefix else phrase


def phrase_tokens(match: str) -> tuple[list[str], bool]:
    """The tokens of a `query_phrase` expression, and whether its last one is a prefix."""
    prefix = match.endswith("*")
    return match.rstrip("*").strip('"').split(" "), prefix


# The filters kept in the index as tokens, and the letter that starts each one's part of a token
# (`share_type` "not_shared" -> "snotshared": one word for the tokenizer, none a query can reach,
# since queries search only the name and body columns).
FILTER_TAGS = {"category": "c", "share_type": "s", "update_cycle": "u", "open_type": "o"}
# Every combination of filters an entry's tags answer with one token: the values of the chosen
# filters joined by "0" ("cbase0snotshared"). A filter of two or three values then reads one list
# as long as its answer, where intersecting one list per value read every entry of each (a share
# type holds a third of the catalog): 15 tokens an entry instead of 4, a few percent of the index.
COMBINATIONS = tuple(combo for size in range(1, len(FILTER_TAGS) + 1)
                     for combo in itertools.combinations(FILTER_TAGS, size))


def filter_token(values: dict[str, str]) -> str:
    """The index's one token for the given filter values, by field name (empty values left out;
    "" when none is given)."""
    return "0".join(FILTER_TAGS[name] + values[name].replace("_", "") for name in FILTER_TAGS if values.get(name))


@functools.lru_cache(maxsize=1024)  # a few hundred combinations of values in a whole catalog
def entry_filter_tokens(category: str, share_type: str, update_cycle: str, open_type: str) -> str:
    """An entry's filter column of the search index: the token of every combination of its values."""
    values = {"category": category, "share_type": share_type, "update_cycle": update_cycle, "open_type": open_type}
    return " ".join(filter_token({name: values[name] for name in combo}) for combo in COMBINATIONS
                    if all(values[name] for name in combo))


def filter_tokens_sql(table: str = "", combinations: tuple[tuple[str, ...], ...] = COMBINATIONS) -> str:
    """`entry_filter_tokens` as an SQL expression over the entries table's columns (migrations),
    for the given combinations of filters (the index of migration 13 held single values alone)."""
    return " || ' ' || ".join(" || '0' || ".join(f"'{FILTER_TAGS[name]}' || replace({table}{name}, '_', '')"
                                                 for name in combo) for combo in combinations)


# The facets whose values a search or listing counts (a portal shows the counts beside its
# choices): a province (or the centre) for the region, and every value of the plain filters.
# Departments are not counted: hundreds of values, and a region narrows them first.
FACETS = {"region_code": tuple(regions.PINYIN), "category": rules.CATEGORIES, "share_type": rules.SHARE_TYPES,
          "update_cycle": rules.UPDATE_CYCLES, "open_type": rules.OPEN_TYPES}
# Entries counted for each value: past it the count says "at least" ("100+"). A count costs about
# what it reads: fifty counts to this cap take a few milliseconds where values are common (to
# 1,000 they took 25-35 ms a page at 1,000,000 entries); a rare value's count reads its whole
# list whatever the cap.
FACET_CAP = 100

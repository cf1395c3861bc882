"""The matcher's blocking, comparators and score written in SQL, for DuckDB and Spark SQL.

Each comparator of :mod:`custdata.matching.compare` is mirrored here, rule for rule, as a ``CASE`` expression over
the columns of :mod:`custdata.matching.engines._columns`. The two dialects differ only in a few functions
(:class:`Dialect`). Where an engine has no built-in that gives exactly what the Python comparators compute, the
dialect calls a Python function registered in the engine (see ``PYTHON_FUNCTIONS``): Spark has no Jaro-Winkler
and no Damerau-Levenshtein; DuckDB's Jaro-Winkler can differ from rapidfuzz's in the last bit of the float, so a
similarity within ``1e-9`` of a threshold is decided by rapidfuzz itself. The tests compare every level, score
and decision with the Python engine.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from custdata.matching._extra import DamerauLevenshtein, JaroWinkler
from custdata.matching.blocking import WEAK_KINDS, weak_limit, weak_window
from custdata.matching.compare import NAME_TYPO, STREET_TYPO
from custdata.matching.model import FIELDS, LEVELS, MISSING

# The Python functions an engine registers (name: function of two strings); each is the comparators' own rule.


def jaro_winkler(a: str, b: str) -> float:
    return float(JaroWinkler.similarity(a, b))


def one_edit(a: str, b: str) -> bool:
    """Same length and one character changed, or two neighbouring characters swapped (as in compare)."""
    if len(a) != len(b) or a == b:
        return False
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    if len(diff) == 1:
        return True
    return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]


def damerau_levenshtein_1(a: str, b: str) -> bool:
    """Damerau-Levenshtein distance of at most one."""
    return bool(DamerauLevenshtein.distance(a, b, score_cutoff=1) <= 1)


PYTHON_FUNCTIONS: dict[str, Callable[[str, str], object]] = {
    "cd_jaro_winkler": jaro_winkler,
    "cd_one_edit": one_edit,
    "cd_dl1": damerau_levenshtein_1,
}

#: How far from a threshold an engine's own Jaro-Winkler must be to be trusted without asking rapidfuzz.
JW_MARGIN = 1e-9


@attrs.frozen
class Dialect:
    """The functions whose spelling differs between engines, each a template over ``{a}`` and ``{b}``."""

    overlap: str  # do two arrays share an element
    contains_all: str  # does array {a} hold every element of array {b}
    size: str  # elements in array {a}
    jaro_winkler: str | None  # the engine's own similarity, or None to call cd_jaro_winkler always
    one_edit: str
    dl1: str
    numbering: str  # a number for each row of a grouped query, different for every row (in any order)

    def jw_at_least(self, a: str, b: str, threshold: float) -> str:
        exact = f"cd_jaro_winkler({a}, {b}) >= {threshold!r}"
        if self.jaro_winkler is None:
            return f"({exact})"
        own = self.jaro_winkler.format(a=a, b=b)
        return (
            f"(CASE WHEN {own} >= {threshold + JW_MARGIN!r} THEN TRUE WHEN {own} <= {threshold - JW_MARGIN!r} "
            f"THEN FALSE ELSE {exact} END)"
        )


DUCKDB = Dialect(
    overlap="list_has_any({a}, {b})",
    contains_all="list_has_all({a}, {b})",
    size="len({a})",
    jaro_winkler="jaro_winkler_similarity({a}, {b})",
    one_edit=(
        "(length({a}) = length({b}) AND {a} <> {b} AND (hamming({a}, {b}) = 1"
        " OR (hamming({a}, {b}) = 2 AND damerau_levenshtein({a}, {b}) = 1)))"
    ),
    dl1="damerau_levenshtein({a}, {b}) <= 1",
    numbering="row_number() OVER ()",
)

SPARK = Dialect(
    overlap="arrays_overlap({a}, {b})",
    contains_all="(size(array_except({b}, {a})) = 0)",
    size="size({a})",
    jaro_winkler=None,
    one_edit="cd_one_edit({a}, {b})",
    dl1="cd_dl1({a}, {b})",
    numbering="row_number() OVER (ORDER BY key)",
)


def _given(d: Dialect, a: str, b: str) -> str:
    """compare.given_name over the name columns with prefixes ``a`` and ``b`` (such as ``a.g_``)."""
    return f"""CASE
    WHEN {a}full = '' OR {b}full = '' THEN '{MISSING}'
    WHEN {a}full = {b}full THEN 'exact'
    WHEN {a}first = {b}first THEN CASE WHEN length({a}first) > 1 THEN 'exact' ELSE 'initial' END
    WHEN {d.overlap.format(a=a + "groups", b=b + "groups")} THEN 'nickname'
    WHEN length({a}first) = 1 OR length({b}first) = 1 THEN
        CASE WHEN substr({a}first, 1, 1) = substr({b}first, 1, 1) THEN 'initial' ELSE 'different' END
    WHEN {d.jw_at_least(a + "first", b + "first", NAME_TYPO)} OR {d.jw_at_least(a + "full", b + "full", NAME_TYPO)}
        THEN 'typo'
    WHEN {a}code = {b}code THEN 'phonetic'
    ELSE 'different' END"""


def _family(d: Dialect, a: str, b: str) -> str:
    """compare.family_name."""
    return f"""CASE
    WHEN {a}full = '' OR {b}full = '' THEN '{MISSING}'
    WHEN {a}full = {b}full THEN 'exact'
    WHEN {a}ntok < {b}ntok AND {d.contains_all.format(a=b + "tokens", b=a + "tokens")} THEN 'partial'
    WHEN {a}ntok > {b}ntok AND {d.contains_all.format(a=a + "tokens", b=b + "tokens")} THEN 'partial'
    WHEN {d.jw_at_least(a + "full", b + "full", NAME_TYPO)} THEN 'typo'
    WHEN {a}code = {b}code AND {a}rest = {b}rest THEN 'phonetic'
    ELSE 'different' END"""


def _birthday(d: Dialect) -> str:
    return f"""CASE
    WHEN a.b_digits IS NULL OR b.b_digits IS NULL THEN '{MISSING}'
    WHEN a.b_digits = b.b_digits THEN 'exact'
    WHEN a.b_year = b.b_year AND a.b_month = b.b_day AND a.b_day = b.b_month THEN 'day_month_swapped'
    WHEN {d.one_edit.format(a="a.b_digits", b="b.b_digits")} THEN 'typo'
    ELSE 'different' END"""


def _email(d: Dialect) -> str:
    return f"""CASE
    WHEN {d.size.format(a="a.emails")} = 0 OR {d.size.format(a="b.emails")} = 0 THEN '{MISSING}'
    WHEN {d.overlap.format(a="a.emails", b="b.emails")} THEN 'exact'
    WHEN et.i IS NOT NULL THEN 'typo'
    ELSE 'different' END"""


def _phone(d: Dialect) -> str:
    return f"""CASE
    WHEN {d.size.format(a="a.phones")} = 0 OR {d.size.format(a="b.phones")} = 0 THEN '{MISSING}'
    WHEN {d.overlap.format(a="a.phones", b="b.phones")} OR {d.overlap.format(a="a.tails", b="b.tails")} THEN 'exact'
    WHEN pt.i IS NOT NULL THEN 'typo'
    ELSE 'different' END"""


def _street(d: Dialect) -> str:
    return f"""CASE
    WHEN a.s_name = '' OR b.s_name = '' THEN '{MISSING}'
    WHEN NOT (a.s_name = b.s_name OR {d.jw_at_least("a.s_name", "b.s_name", STREET_TYPO)}) THEN 'different'
    WHEN a.s_house <> '' AND b.s_house <> '' AND a.s_house <> b.s_house THEN 'other_house'
    WHEN a.s_name = b.s_name AND a.s_house = b.s_house THEN 'exact'
    ELSE 'typo' END"""


def _locality(d: Dialect) -> str:
    same_city = (
        f"(a.city <> '' AND b.city <> '' AND (a.city = b.city OR {d.jw_at_least('a.city', 'b.city', NAME_TYPO)}))"
    )
    return f"""CASE
    WHEN a.country <> '' AND b.country <> '' AND a.country <> b.country THEN 'different'
    WHEN a.postal <> '' AND b.postal <> '' THEN CASE
        WHEN a.postal = b.postal THEN 'exact'
        WHEN NOT (a.city <> '' AND b.city <> '' AND NOT {same_city}) AND {d.one_edit.format(a="a.postal", b="b.postal")}
            THEN 'typo'
        WHEN {same_city} THEN 'other_postal_code'
        ELSE 'different' END
    WHEN a.city <> '' AND b.city <> '' THEN CASE WHEN {same_city} THEN 'city' ELSE 'different' END
    ELSE '{MISSING}' END"""


def _double(value: float) -> str:
    return f"CAST('{value!r}' AS DOUBLE)"


def _weight(table: dict[str, float], level: str) -> str:
    cases = " ".join(f"WHEN '{name}' THEN {_double(value)}" for name, value in table.items() if name != MISSING)
    return f"(CASE {level} {cases} ELSE {_double(0.0)} END)"


#: The kinds of key (first letters) with the smaller block limit and window, as a SQL list.
_WEAK = "(" + ", ".join(f"'{kind}'" for kind in sorted(WEAK_KINDS)) + ")"


def blocks_sql(d: Dialect, *, max_block_size: int, window: int) -> str:
    """The members of every block of two or more records: one row per record and shared key, the key replaced by
    a number of its own (``b``, joined on far more cheaply than the key's text), with the block's size (``n``),
    its size limit (``lim``) and its window (``reach``). A key held by one record, most of them, goes no further."""
    name_limit, name_window = weak_limit(max_block_size), weak_window(window)
    return f"""SELECT k.pos, s.b, s.n,
    CASE WHEN substr(s.key, 1, 1) IN {_WEAK} THEN {name_limit} ELSE {max_block_size} END AS lim,
    CASE WHEN substr(s.key, 1, 1) IN {_WEAK} THEN {name_window} ELSE {window} END AS reach
FROM (SELECT key, count(*) AS n, {d.numbering} AS b FROM keys GROUP BY key HAVING count(*) >= 2) AS s
    JOIN keys k ON k.key = s.key"""


def pairs_tables(*, blocking: bool, window: int) -> list[tuple[str, str]]:
    """Tables to create, in order, the last being the candidate pairs ``(i, j)``, ``i < j`` (``candidates``),
    exactly those of :func:`~custdata.matching.blocking.candidate_pairs` (or every pair without blocking), from the
    ``blocks`` of :func:`blocks_sql`. Blocks up to their size limit pair all their records; larger ones pair each
    record with its ``window`` nearest neighbours ranked by family name, given name, postal code and position, as
    the Python sort does (strings compare by code point in both engines): the members of the larger blocks with
    their rank (``ranked``) are a table of their own, which the pairs then join twice by an equality on the block
    and the rank (in one statement the planner computes the ranks on both sides of the join and joins them in
    the wrong order, ten times slower at a million records). No block's pairs outnumber its records times the size
    limit or the window, so the work and the memory grow with the records, never with the square of a block."""
    if not blocking:
        return [("candidates", "SELECT a.pos AS i, b.pos AS j FROM records a JOIN records b ON a.pos < b.pos")]
    # each record meets the next ``reach`` of its block by an equality on the rank, never by a range: a range
    # join over one huge block (a common name, an empty-ish key) would pair every two of its records first
    steps = ", ".join(f"({d})" for d in range(1, window + 1))
    return [
        (
            "ranked",
            """SELECT m.b, m.pos, m.reach,
    row_number() OVER (PARTITION BY m.b ORDER BY r.f_full, r.g_full, r.postal, m.pos) AS rk
FROM blocks m JOIN records r ON r.pos = m.pos
WHERE m.n > m.lim""",
        ),
        (
            "candidates",
            f"""WITH few AS (
    SELECT b, pos FROM blocks WHERE n <= lim
), small AS (
    SELECT x.pos AS i, y.pos AS j FROM few x JOIN few y ON y.b = x.b AND x.pos < y.pos
), steps AS (
    SELECT * FROM (VALUES {steps}) AS t(d)
), large AS (
    SELECT least(x.pos, y.pos) AS i, greatest(x.pos, y.pos) AS j
    FROM ranked x CROSS JOIN steps s JOIN ranked y ON y.b = x.b AND y.rk = x.rk + s.d
    WHERE s.d <= x.reach
)
SELECT DISTINCT i, j FROM (SELECT i, j FROM small UNION ALL SELECT i, j FROM large) AS p""",
        ),
    ]


def stats_sql() -> str:
    """Blocks of two or more records and how many of them are over their size limit, from ``blocks``."""
    return """SELECT count(DISTINCT b) AS blocks, count(DISTINCT CASE WHEN n > lim THEN b END) AS oversized
FROM blocks"""


#: The name columns of ``records`` that the name levels read, carried beside each pair's other levels.
_NAME_COLUMNS = tuple(
    f"{side}_{name}" for side in "gf" for name in ("full", "first", "code", "groups", "tokens", "ntok", "rest")
)

_TRY_SWAP = f"('different', '{MISSING}')"
_TELLS_APART = "('exact', 'nickname')"
_STREET_AGREES = "('exact', 'typo')"
_LOCALITY_AGREES = "('exact', 'typo', 'city')"


def _bound(tables: dict[str, dict[str, float]], household: dict[str, dict[str, float]]) -> str:
    """The most a pair of the ``levels`` table can score, however its names are paired and whichever household
    rule applies: the best name weights, and for each other field the larger of its two weights."""
    best = max(tables["given_name"].values()) + max(*tables["family_name"].values(), *household["family_name"].values())
    parts = [_double(best)]
    for field in ("birthday", "email", "phone", "street", "locality"):
        weights = {level: max(weight, household[field].get(level, weight)) for level, weight in tables[field].items()}
        parts.append(_weight(weights, f"l.{field}"))
    return " + ".join(parts)


#: How far below the review threshold a pair's bound may be and the pair still be weighed exactly (the bound is
#: summed in floating point in another order than the score).
_BOUND_MARGIN = 1e-3


def level_tables(
    d: Dialect,
    tables: dict[str, dict[str, float]],
    household: dict[str, dict[str, float]] | None = None,
    floor: float | None = None,
) -> list[tuple[str, str]]:
    """Tables to create, in order, after :func:`typo_tables` and before :func:`scored_sql`: the levels of every
    candidate pair's fields other than the names (``fields``), then, with its ids and guest flags, its names'
    levels, also compared crossed, given against family name, where they did not agree (``crossed``), the weights
    of the three ways to pair the names (``weighed``) and the levels of the names paired the way that weighs most
    (``named``), as :meth:`Matcher._score` pairs them. Creating each as a table keeps every query small for the
    planner. Given the ``household`` weights and the ``floor`` of :func:`scored_sql`, a pair that cannot reach it
    however its names compare (most candidates) is left out of ``fields``: its names are never read, compared,
    crossed nor weighed, and the wide name columns are joined only to the pairs that are left."""
    for field in FIELDS:
        assert set(tables[field]) == {*LEVELS[field], MISSING}
    g, f = tables["given_name"], tables["family_name"]

    def names(choice: str) -> str:
        return f"{_weight(g, 'g' + choice)} + {_weight(f, 'f' + choice)}"

    swap = f"(n.g0 IN {_TRY_SWAP} OR n.f0 IN {_TRY_SWAP})"
    kept = ""
    if household is not None and floor is not None:
        kept = f"\nWHERE {_bound(tables, household)} >= {_double(floor - _BOUND_MARGIN)}"
    carried = ",\n    ".join(f"{side}.{column} AS {side}{column}" for side in ("a", "b") for column in _NAME_COLUMNS)
    return [
        (
            "fields",
            f"""SELECT * FROM (
    SELECT c.i, c.j,
        {_birthday(d)} AS birthday,
        {_email(d)} AS email,
        {_phone(d)} AS phone,
        {_street(d)} AS street,
        {_locality(d)} AS locality
    FROM candidates c JOIN records a ON a.pos = c.i JOIN records b ON b.pos = c.j
        LEFT JOIN email_typos et ON et.i = c.i AND et.j = c.j
        LEFT JOIN phone_typos pt ON pt.i = c.i AND pt.j = c.j
) AS l{kept}""",
        ),
        (
            "crossed",
            f"""SELECT n.i, n.j, n.left_id, n.right_id, n.left_guest, n.right_guest, n.g0, n.f0,
    n.birthday, n.email, n.phone, n.street, n.locality,
    CASE WHEN {swap} THEN {_given(d, "n.ag_", "n.bf_")} END AS g1,
    CASE WHEN {swap} THEN {_family(d, "n.bg_", "n.af_")} END AS f1,
    CASE WHEN {swap} THEN {_given(d, "n.bg_", "n.af_")} END AS g2,
    CASE WHEN {swap} THEN {_family(d, "n.ag_", "n.bf_")} END AS f2
FROM (
    SELECT l.*,
        {_given(d, "l.ag_", "l.bg_")} AS g0,
        {_family(d, "l.af_", "l.bf_")} AS f0
    FROM (
        SELECT x.*, a.id AS left_id, b.id AS right_id, a.guest AS left_guest, b.guest AS right_guest,
        {carried}
        FROM fields x JOIN records a ON a.pos = x.i JOIN records b ON b.pos = x.j
    ) AS l
) AS n""",
        ),
        (
            "weighed",
            f"""SELECT *, {names("0")} AS w0,
    CASE WHEN g1 IS NULL THEN NULL ELSE {names("1")} END AS w1,
    CASE WHEN g2 IS NULL THEN NULL ELSE {names("2")} END AS w2
FROM crossed""",
        ),
        (
            "named",
            """SELECT left_id, right_id, left_guest, right_guest, birthday, email, phone, street, locality, choice,
    CASE choice WHEN 2 THEN g2 WHEN 1 THEN g1 ELSE g0 END AS given_name,
    CASE choice WHEN 2 THEN f2 WHEN 1 THEN f1 ELSE f0 END AS family_name
FROM (
    SELECT *,
        CASE WHEN w2 IS NOT NULL AND w2 > greatest(w0, w1) THEN 2 WHEN w1 IS NOT NULL AND w1 > w0 THEN 1 ELSE 0
            END AS choice
    FROM weighed
) AS w""",
        ),
    ]


def scored_sql(
    d: Dialect, tables: dict[str, dict[str, float]], household: dict[str, dict[str, float]], floor: float
) -> str:
    """The household rule and the score of every candidate pair (from the ``named`` table of
    :func:`level_tables`), as :meth:`Matcher._score` computes them; only pairs scoring at least ``floor`` are
    returned, with their ids and guest flags. The score here only filters: the caller recomputes it exactly from
    the levels."""
    g, f = tables["given_name"], tables["family_name"]
    return f"""WITH household AS (
    SELECT *,
        (given_name NOT IN {_TELLS_APART} AND street IN {_STREET_AGREES} AND locality IN {_LOCALITY_AGREES})
            AS by_address,
        (given_name NOT IN {_TELLS_APART} AND phone = 'exact') AS by_phone
    FROM named
)
SELECT left_id, right_id, left_guest, right_guest, given_name, family_name, birthday, email, phone, street,
    locality, choice > 0 AS swapped
FROM household
WHERE {_weight(g, "given_name")}
    + CASE WHEN by_address OR by_phone THEN {_weight(household["family_name"], "family_name")}
        ELSE {_weight(f, "family_name")} END
    + {_weight(tables["birthday"], "birthday")}
    + {_weight(tables["email"], "email")}
    + CASE WHEN by_address THEN {_weight(household["phone"], "phone")} ELSE {_weight(tables["phone"], "phone")} END
    + {_weight(tables["street"], "street")}
    + {_weight(tables["locality"], "locality")} >= {_double(floor)}"""


def typo_tables(d: Dialect) -> list[tuple[str, str]]:
    """Tables to create, in order, before :func:`scored_sql`: the candidate pairs with a slipped letter in an
    email at the same domain (``email_typos``) and with phone tails one edit apart (``phone_typos``). Each pair
    first meets the left record's values, then the right's: joining the two sides first would pair every two
    addresses of a domain."""
    return [
        (
            "left_emails",
            "SELECT c.i, c.j, x.local, x.domain, x.digits FROM candidates c JOIN emails x ON x.pos = c.i",
        ),
        (
            "email_typos",
            f"""SELECT DISTINCT x.i, x.j
FROM left_emails x JOIN emails y ON y.pos = x.j AND y.domain = x.domain
WHERE length(x.local) >= 5 AND length(y.local) >= 5 AND abs(length(x.local) - length(y.local)) <= 1
    AND x.digits = y.digits AND {d.dl1.format(a="x.local", b="y.local")}""",
        ),
        ("left_tails", "SELECT c.i, c.j, x.tail FROM candidates c JOIN tails x ON x.pos = c.i"),
        (
            "phone_typos",
            f"""SELECT DISTINCT x.i, x.j
FROM left_tails x JOIN tails y ON y.pos = x.j
WHERE {d.one_edit.format(a="x.tail", b="y.tail")}""",
        ),
    ]


def repeated_ids_sql() -> str:
    """Rows whose id an earlier row has, with the position of that first row."""
    return """SELECT r.pos, f.first_pos
FROM records r JOIN (SELECT id, min(pos) AS first_pos FROM records GROUP BY id HAVING count(*) > 1) f ON r.id = f.id
WHERE r.pos <> f.first_pos
ORDER BY r.pos"""

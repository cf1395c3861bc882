"""A curated table of given-name variants (English, German, French and Spanish), for "Bill" = "William".

Each group lists names that the same person is commonly recorded under: a formal name, its short forms and
spelling variants. A short form may sit in several groups ("Al" is Albert or Alfred), and the relation is
not transitive: "Jon" matches "John" and "Jonathan", but "John" does not match "Jonathan". Names are folded
(lower case, no diacritics), as :func:`custdata.matching.text.fold` makes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from custdata.matching.text import fold

_GROUPS = """
# English
abigail abby abbie gail
albert al bert bertie
alexander alex alec sandy xander
alexandra alex alexa lexi sandra
alfred al alf alfie fred
andrew andy drew
anthony tony antony
barbara barb babs
benjamin ben benny benji
catherine cathy cath kate katie kathy kat katherine kathryn catharine
charles charlie chuck chas
christina chris christine tina chrissy
christopher chris kit topher
daniel dan danny
david dave davey davy
deborah debbie deb debra
donald don donnie
dorothy dot dottie dolly
douglas doug
edward ed eddie ted ned teddy
eleanor ellie nell elle nora
elizabeth liz lizzie beth betty bess eliza libby lisa elisabeth
frances fran frankie fanny
francis frank fran frankie
frederick fred freddie freddy
gerald gerry jerry
gregory greg
henry harry hank hal
james jim jimmy jamie jimbo
jennifer jen jenny jenn
jessica jess jessie
john jon johnny jack jonny
jonathan jon jonny nathan
joseph joe joey jo
joshua josh
kenneth ken kenny
kimberly kim kimberley
lawrence larry laurence laurie
margaret maggie meg peggy marge greta margie madge
matthew matt matty
michael mike mikey mick mickey
nicholas nick nicky nico
patricia pat patty trish tricia
patrick pat paddy
peter pete
philip phil phillip pip
raymond ray
rebecca becky becca
richard rick ricky dick rich richie
robert bob bobby rob robbie bert
ronald ron ronnie
samantha sam sammy
samuel sam sammy
stephen steve steven stevie
susan sue susie suzy suzanne
theodore ted theo teddy
thomas tom tommy thom
timothy tim timmy
victoria vicky vicki tori
william bill billy will willie willy liam
zachary zach zack zak
# German
andreas andi andy
barbara babsi barbel
christine christa tina
dorothea doro thea
elisabeth elli else liesel lisbeth
franziska franzi
friedrich fritz fred
gabriele gabi gaby
heinrich heinz heini
johannes johann hans hannes
josef sepp jupp joseph
katharina katrin kathrin katja kathi trine
magdalena lena leni magda
margarete grete gretchen margit meta
matthias mathias matze
maximilian max maxi
michael michi micha
nikolaus klaus niklas nico
sebastian basti
stefanie steffi stephanie
stefan stephan steffen
susanne susi sanne
tobias tobi
wilhelm willi willy wim
wolfgang wolf
alexander sascha
# French
alexandre alex
benedicte bene
caroline caro
catherine cathy
christophe chris
dominique dom
emmanuel manu
emmanuelle manue manu
francois fanfan
frederic fred
isabelle isa isabel
jacques jacquot jacky
jean jeannot
josephine josie jo
marguerite margot maguy
maximilien max
nicolas nico colas
philippe phil
sebastien seb
stephane steph
stephanie steph
valerie val
# Spanish
alejandra ale alex
alejandro alex alejo jandro
alberto beto
antonio toni tono
concepcion concha conchita
cristina cris
daniel dani
dolores lola loles
eduardo edu lalo
enrique quique
fernando nando fer
francisco paco pancho curro fran quico
guadalupe lupe lupita
guillermo memo guille
ignacio nacho
isabel isa chabela
javier javi
jesus chus chucho
jose pepe pepito chema
josefa pepa
luis lucho
manuel manolo manu
mercedes merche
pilar pili
rafael rafa
ramon moncho
roberto beto rober
rosario charo
santiago santi yago
teresa tere
"""


def _parse(text: str) -> dict[str, frozenset[int]]:
    groups: dict[str, set[int]] = {}
    for number, line in enumerate(text.splitlines()):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        for name in line.split():
            groups.setdefault(fold(name), set()).add(number)
    return {name: frozenset(ids) for name, ids in groups.items()}


_TABLE: Mapping[str, frozenset[int]] = _parse(_GROUPS)


def name_groups(folded: str) -> frozenset[int]:
    """The ids of the variant groups that a folded given name belongs to (empty when it is in none).

    >>> bool(name_groups("bill") & name_groups("william"))
    True
    >>> bool(name_groups("john") & name_groups("jonathan"))
    False
    """
    return _TABLE.get(folded, frozenset())


def are_variants(left: str, right: str) -> bool:
    """True when two folded given names are listed as variants of each other (or are equal)."""
    return left == right or bool(name_groups(left) & name_groups(right))


def known_names() -> Iterable[str]:
    """Every name in the table, for tests and for generators of synthetic data."""
    return _TABLE.keys()


def variants_of(folded: str) -> frozenset[str]:
    """Every name that shares a group with ``folded`` (not including itself)."""
    ids = name_groups(folded)
    return frozenset(name for name, other in _TABLE.items() if other & ids and name != folded)

"""Given-name diminutives and short forms, folded to one canonical name.

A registry may write "Bill Evans" where a passport says "William Evans", or
"Sasha Sokolov" for "Aleksandr Sokolov". Record linkage practice compares given
names through such a table (as with the US Census and Splink users' name-variant
lookups). The table covers the name traditions Tessera's users meet most: English,
German, French, Italian, Spanish, Polish, Russian and Arabic. Keys and values are
lower-case ASCII; features fold both with :func:`tessera.resolve.sql.translit`
before matching, so one transliteration per entry is enough.
"""

from __future__ import annotations

from tessera.engines.base import literal

# canonical given name -> its short forms and diminutives
NICKNAMES: dict[str, tuple[str, ...]] = {
    # English
    "william": ("will", "bill", "billy", "willy", "liam"),
    "robert": ("rob", "bob", "bobby", "robbie", "bert"),
    "richard": ("rick", "rich", "dick", "ricky"),
    "james": ("jim", "jimmy", "jamie"),
    "john": ("johnny", "jack", "jon"),
    "jonathan": ("jon", "jonny"),
    "michael": ("mike", "mikey", "mick", "micha"),
    "thomas": ("tom", "tommy"),
    "david": ("dave", "davy"),
    "daniel": ("dan", "danny"),
    "joseph": ("joe", "joey"),
    "charles": ("charlie", "chuck"),
    "edward": ("ed", "eddie", "ted", "ned"),
    "anthony": ("tony",),
    "andrew": ("andy", "drew"),
    "christopher": ("chris",),
    "matthew": ("matt",),
    "nicholas": ("nick", "nicky"),
    "benjamin": ("ben", "benny"),
    "samuel": ("sam", "sammy"),
    "alexander": ("alex", "sandy", "xander"),
    "peter": ("pete",),
    "patrick": ("pat", "paddy"),
    "steven": ("steve",),
    "stephen": ("steve",),
    "timothy": ("tim",),
    "oliver": ("ollie", "olly"),
    "henry": ("harry", "hank"),
    "elizabeth": ("liz", "beth", "betty", "lisa", "eliza", "lizzie"),
    "margaret": ("maggie", "meg", "peggy"),
    "katherine": ("kate", "kathy", "katie", "kat"),
    "catherine": ("cathy", "kate", "cat"),
    "jennifer": ("jen", "jenny"),
    "jessica": ("jess", "jessie"),
    "rebecca": ("becky", "becca"),
    "susan": ("sue", "susie"),
    "deborah": ("debbie", "deb"),
    "patricia": ("pat", "patty", "trish"),
    "victoria": ("vicky", "tori"),
    "charlotte": ("lottie", "charlie"),
    "emily": ("em", "emmy"),
    "ashley": ("ash",),
    "samantha": ("sam",),
    "alexandra": ("alex", "sandra"),
    # German
    "katharina": ("kathi", "katja", "kathrin"),
    "katrin": ("kati",),
    "sabine": ("bine",),
    "stefan": ("steff",),
    "lukas": ("luke",),
    "julia": ("jule", "julie"),
    "johannes": ("hannes", "jo"),
    "wolfgang": ("wolf",),
    "friedrich": ("fritz",),
    "franziska": ("franzi",),
    "christian": ("chris",),
    "christina": ("tina", "chris"),
    "magdalena": ("lena", "magda"),
    "gabriele": ("gabi",),
    "gabriel": ("gabi",),
    "matthias": ("matze",),
    # French, Italian, Spanish, Portuguese
    "alessandro": ("sandro", "ale"),
    "francesca": ("franca", "fra"),
    "francesco": ("franco", "cesco"),
    "giuseppe": ("beppe", "pino"),
    "javier": ("javi",),
    "alejandro": ("alex", "ale"),
    "francisco": ("paco", "pancho", "fran"),
    "jose": ("pepe",),
    "guillermo": ("memo",),
    "dolores": ("lola",),
    "antonio": ("toni", "tonio"),
    # Polish
    "krzysztof": ("krzysiek",),
    "katarzyna": ("kasia",),
    "tomasz": ("tomek",),
    "piotr": ("piotrek",),
    "agnieszka": ("aga",),
    "malgorzata": ("gosia",),
    "aleksandra": ("ola",),
    "wojciech": ("wojtek",),
    # Russian (transliterated)
    "aleksandr": ("sasha", "sanya", "shura"),
    "dmitri": ("dima", "mitya"),
    "mikhail": ("misha",),
    "natalia": ("natasha", "nata"),
    "tatiana": ("tanya",),
    "yuri": ("yura",),
    "sergei": ("seryozha", "sergi"),
    "aleksei": ("alyosha", "lyosha"),
    "andrei": ("andryusha",),
    "ivan": ("vanya",),
    "nikolai": ("kolya",),
    "vladimir": ("volodya", "vova"),
    "ekaterina": ("katya",),
    "elena": ("lena",),
    "olga": ("olya",),
    "irina": ("ira",),
    "maria": ("masha",),
    "anastasia": ("nastya",),
    "svetlana": ("sveta",),
    "yevgeny": ("zhenya",),
    "pavel": ("pasha",),
    # Arabic and Persian
    "mohammed": ("mo", "hamoudi"),
    "abdullah": ("abdu",),
    "abdulrahman": ("abdu",),
    "mustafa": ("musti",),
}


def nickname_pairs() -> list[tuple[str, str]]:
    """``(short form, canonical)`` for every entry, sorted; a short form may belong to
    several canonical names (``alex``: Alexander, Alexandra, Alejandro)."""
    return sorted(
        {(short, canonical) for canonical, shorts in NICKNAMES.items() for short in shorts}
    )


def nickname_values_sql() -> str:
    """The table as an SQL ``VALUES`` list with columns ``(short, canonical)``."""
    rows = ", ".join(f"({literal(s)}, {literal(c)})" for s, c in nickname_pairs())
    return f"(VALUES {rows}) AS nickname(short, canonical)"

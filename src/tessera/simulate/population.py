"""The district's people: organisations, households, roles, homes, workplaces, social ties.

Who lives and works in the district follows the brief: diplomats, attachés, embassy
staff and drivers working at embassies; journalists and business people in offices;
students at schools; service workers in restaurants, cafes, hotels and gyms; local
residents, many of whom work outside the district. People live in households; the
social graph joins family (same household), colleagues (same organisation), friends
(by nationality and role, with a few bridges across) and acquaintances, each tie with a
strength in (0, 1].

Names are the truth: registries write them with their own dirt later. Each person has
a name in their own script (Hanzi for Chinese nationals) and its Latin form. Names are
long-tailed, as in real registers: a few common names (Thomas Müller) and many rare ones,
so that at 20,000 people most full names are distinct.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tessera.simulate.world import World, WorldError

if TYPE_CHECKING:
    import pyarrow as pa

# role -> (share of people, workplace building kinds or "outside"/"home")
ROLES: dict[str, tuple[float, tuple[str, ...]]] = {
    "diplomat": (0.03, ("embassy",)),
    "attache": (0.01, ("embassy",)),
    "embassy_staff": (0.04, ("embassy",)),
    "driver": (0.015, ("embassy",)),
    "ministry_official": (0.03, ("ministry",)),
    "journalist": (0.02, ("office",)),
    "business": (0.12, ("office",)),
    "student": (0.10, ("school",)),
    "service_worker": (0.155, ("restaurant", "cafe", "hotel", "gym")),
    "local_resident": (0.48, ("outside", "home")),
}
EMBASSY_ROLES = ("diplomat", "attache", "embassy_staff", "driver")

# Countries with embassies here, and the name pools by naming tradition.
EMBASSY_COUNTRIES = (
    "CN", "RU", "US", "GB", "FR", "IR", "SA", "EG", "TR", "JP", "IN", "BR", "PL", "IT",
    "ES", "UA", "KR", "AE", "PK", "NG",
)  # fmt: skip
TRADITION = {"CN": "chinese", "RU": "russian", "UA": "russian", "IR": "arabic",
             "SA": "arabic", "EG": "arabic", "AE": "arabic", "PK": "arabic"}  # fmt: skip

# Name pools. Each pool lists its most frequent names first: the first entries of every
# pool are the names the registries know transliterations and nicknames for
# (registries._VARIANTS, _GERMAN, _NICKNAMES), then a long tail of rarer names. Names are
# drawn with Zipf-like weights by rank (see _zipf_cdf), so a few names are common and
# most are rare, as in real registers. A given name never contains a space (registries
# split the Latin name at its first space).
_CN_FAMILY = [("王", "Wang"), ("李", "Li"), ("张", "Zhang"), ("刘", "Liu"), ("陈", "Chen"),
              ("杨", "Yang"), ("黄", "Huang"), ("赵", "Zhao"), ("周", "Zhou"),
              ("吴", "Wu"),
              # the tail: one-character surnames only (Hanzi family = first character)
              ("徐", "Xu"), ("孙", "Sun"), ("胡", "Hu"), ("朱", "Zhu"), ("高", "Gao"),
              ("林", "Lin"), ("何", "He"), ("郭", "Guo"), ("马", "Ma"), ("罗", "Luo"),
              ("梁", "Liang"), ("宋", "Song"), ("郑", "Zheng"), ("谢", "Xie"),
              ("韩", "Han"), ("唐", "Tang"), ("冯", "Feng"), ("于", "Yu"), ("董", "Dong"),
              ("肖", "Xiao"), ("程", "Cheng"), ("曹", "Cao"), ("袁", "Yuan"),
              ("邓", "Deng"), ("许", "Xu"), ("傅", "Fu"), ("沈", "Shen"), ("彭", "Peng"),
              ("苏", "Su"), ("蒋", "Jiang")]  # fmt: skip
_CN_GIVEN = [("小明", "Xiaoming"), ("伟", "Wei"), ("芳", "Fang"), ("静", "Jing"),
             ("强", "Qiang"), ("磊", "Lei"), ("军", "Jun"), ("洋", "Yang"), ("艳", "Yan"),
             ("建华", "Jianhua"), ("丽娟", "Lijuan"), ("志强", "Zhiqiang")]  # fmt: skip
# Syllables Chinese given names are composed of (one or two), most frequent first. Each
# has one reading and starts with a consonant, so joined pinyin ("Xiaoming") reads back
# unambiguously and by syllable ("Xiao Ming").
_CN_SYLLABLES = [("伟", "Wei"), ("明", "Ming"), ("华", "Hua"), ("丽", "Li"), ("建", "Jian"),
                 ("小", "Xiao"), ("志", "Zhi"), ("静", "Jing"), ("芳", "Fang"),
                 ("军", "Jun"), ("海", "Hai"), ("玉", "Yu"), ("红", "Hong"), ("国", "Guo"),
                 ("文", "Wen"), ("杰", "Jie"), ("晓", "Xiao"), ("丹", "Dan"), ("平", "Ping"),
                 ("林", "Lin"), ("敏", "Min"), ("刚", "Gang"), ("勇", "Yong"), ("辉", "Hui"),
                 ("婷", "Ting"), ("磊", "Lei"), ("燕", "Yan"), ("春", "Chun"), ("梅", "Mei"),
                 ("涛", "Tao"), ("斌", "Bin"), ("玲", "Ling"), ("鹏", "Peng"), ("飞", "Fei"),
                 ("雪", "Xue"), ("浩", "Hao"), ("宇", "Yu"), ("峰", "Feng"), ("秀", "Xiu"),
                 ("兰", "Lan"), ("霞", "Xia"), ("东", "Dong"), ("新", "Xin"), ("天", "Tian"),
                 ("成", "Cheng"), ("嘉", "Jia"), ("子", "Zi"), ("欣", "Xin"), ("思", "Si"),
                 ("佳", "Jia"), ("晨", "Chen"), ("博", "Bo"), ("凯", "Kai"), ("瑞", "Rui"),
                 ("琪", "Qi"), ("涵", "Han"), ("轩", "Xuan"), ("泽", "Ze"), ("宁", "Ning"),
                 ("颖", "Ying"), ("倩", "Qian"), ("梓", "Zi"), ("诗", "Shi"), ("亮", "Liang"),
                 ("龙", "Long"), ("松", "Song")]  # fmt: skip
_RU_FAMILY = ["Ivanov", "Smirnov", "Kuznetsov", "Popov", "Vasiliev", "Petrov", "Sokolov",
              "Mikhailov", "Novikov", "Fedorov", "Morozov", "Volkov",
              "Lebedev", "Kozlov", "Egorov", "Pavlov", "Semenov", "Golubev", "Vinogradov",
              "Bogdanov", "Vorobiev", "Kovalev", "Orlov", "Nikolaev", "Makarov", "Zakharov",
              "Zaitsev", "Solovyov", "Borisov", "Yakovlev", "Grigoriev", "Romanov",
              "Stepanov", "Sorokin", "Frolov", "Alekseev", "Lazarev", "Medvedev", "Ershov",
              "Nikitin", "Sobolev", "Ryabov", "Polyakov", "Tsvetkov", "Danilov", "Zhukov",
              "Kuzmin", "Kulikov", "Belov", "Gusev", "Kiselev", "Tarasov", "Belyaev",
              "Komarov", "Titov", "Baranov", "Shevchenko", "Bondarenko", "Kovalenko",
              "Tkachenko", "Kravchenko", "Boyko", "Melnyk", "Oliynyk"]  # fmt: skip
_RU_GIVEN = ["Sergei", "Aleksandr", "Dmitri", "Andrei", "Aleksei", "Olga", "Natalia",
             "Elena", "Tatiana", "Irina", "Yuri", "Mikhail",
             "Vladimir", "Nikolai", "Ivan", "Pavel", "Maksim", "Artem", "Roman", "Oleg",
             "Igor", "Viktor", "Evgeni", "Konstantin", "Denis", "Anton", "Kirill", "Ilya",
             "Nikita", "Boris", "Svetlana", "Anastasia", "Maria", "Yulia", "Ekaterina",
             "Anna", "Marina", "Ludmila", "Galina", "Oksana", "Ksenia", "Daria", "Polina",
             "Vera", "Larisa", "Nadezhda"]  # fmt: skip
_AR_FAMILY = ["Al-Sayed", "Haddad", "Hussein", "Abdullah", "Rahman", "Khalil", "Nasser",
              "Mansour", "Farouk", "Hashemi", "Karimi", "Tehrani",
              "Ibrahim", "Mahmoud", "Mostafa", "Saleh", "Salem", "Hamdan", "Aziz",
              "Darwish", "Ismail", "Suleiman", "Othman", "Abbas", "Jaber", "Shaheen",
              "Qasim", "Hamed", "Fathi", "Al-Masri", "Al-Rashid", "Al-Harbi", "Al-Qahtani",
              "Al-Ghamdi", "Al-Zahrani", "Al-Shehri", "Al-Otaibi", "Al-Dosari",
              "Al-Mutairi", "Al-Shamsi", "Al-Mansoori", "Al-Nuaimi", "Al-Amin", "Ahmadi",
              "Hosseini", "Mousavi", "Rezaei", "Mohammadi", "Jafari", "Sadeghi", "Rahimi",
              "Moradi", "Ghorbani", "Kazemi", "Rostami", "Akbari", "Khan", "Malik",
              "Qureshi", "Chaudhry", "Sheikh", "Siddiqui", "Mirza", "Iqbal", "Butt",
              "Shah"]  # fmt: skip
_AR_GIVEN = ["Mohammed", "Ahmed", "Omar", "Youssef", "Khaled", "Fatima", "Aisha", "Layla",
             "Mariam", "Hassan", "Ali", "Reza",
             "Ibrahim", "Mahmoud", "Mustafa", "Tariq", "Karim", "Samir", "Hamza", "Bilal",
             "Yasser", "Amir", "Saeed", "Faisal", "Majid", "Mehdi", "Hossein", "Amin",
             "Imran", "Usman", "Zainab", "Nour", "Sara", "Huda", "Rania", "Amina", "Salma",
             "Hana", "Dina", "Yasmin", "Zahra", "Shirin", "Parisa", "Nasrin", "Farah",
             "Samira"]  # fmt: skip


def _compose(roots: tuple[str, ...], suffixes: tuple[str, ...]) -> list[str]:
    """Surnames from roots and suffixes ("Berg" + "mann"), by suffix then root, leaving
    out joins that read badly: a repeated root ("Bergberg"), a doubled letter at the seam
    ("Steinner") and two vowels meeting ("Seeer")."""
    out: list[str] = []
    for suffix in suffixes:
        for root in roots:
            low = root.lower()
            if suffix.startswith(low) or low.endswith(suffix) or low[-1] == suffix[0]:
                continue
            if low[-1] in "aeiouäöü" and suffix[0] in "aeiouäöü":
                continue
            out.append(root + suffix)
    return out


def _unique(*pools: list[str]) -> list[str]:
    """The names of ``pools`` in order, each once."""
    return list(dict.fromkeys(name for pool in pools for name in pool))


_DE_GIVEN = ["Anna", "Thomas", "Michael", "Julia", "Stefan", "Katrin", "Peter", "Laura",
             "Jürgen", "Sabine", "Lukas", "Lena",
             "Andreas", "Christian", "Daniel", "Markus", "Martin", "Frank", "Alexander",
             "Sebastian", "Tobias", "Florian", "Matthias", "Jan", "Uwe", "Klaus",
             "Wolfgang", "Dirk", "Jörg", "Ralf", "Holger", "Sven", "Torsten", "Bernd",
             "Dieter", "Hans", "Helmut", "Manfred", "Gerhard", "Werner", "Horst", "Karl",
             "Heinz", "Günter", "Felix", "Jonas", "Leon", "Paul", "Maximilian", "Simon",
             "Philipp", "Niklas", "Moritz", "Tim", "Finn", "Elias", "Ben", "Maria",
             "Ursula", "Monika", "Petra", "Claudia", "Susanne", "Andrea", "Birgit", "Heike",
             "Nicole", "Stefanie", "Christina", "Katharina", "Sandra", "Melanie", "Martina",
             "Kerstin", "Silke", "Anja", "Tanja", "Nadine", "Jana", "Sarah", "Lisa",
             "Hannah", "Lea", "Marie", "Sophie", "Emma", "Mia", "Leonie", "Johanna",
             "Charlotte", "Clara", "Franziska", "Ingrid", "Renate", "Gisela", "Helga",
             "Karin", "Brigitte", "Elke", "Gabriele", "Angelika", "Jutta"]  # fmt: skip
_DE_FAMILY = _unique(
    ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
     "Schulz", "Hoffmann", "Koch", "Richter",
     "Schäfer", "Bauer", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann",
     "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt", "Werner", "Schmitz",
     "Krause", "Meier", "Lehmann", "Schmid", "Schulze", "Maier", "Köhler", "Herrmann",
     "König", "Walter", "Mayer", "Huber", "Kaiser", "Fuchs", "Peters", "Lang", "Scholz",
     "Möller", "Weiß", "Jung", "Hahn", "Schubert", "Vogel", "Friedrich", "Keller",
     "Günther", "Frank", "Berger", "Winkler", "Roth", "Beck", "Lorenz", "Baumann",
     "Franke", "Albrecht", "Schuster", "Simon", "Ludwig", "Böhm", "Winter", "Kraus",
     "Martin", "Schumacher", "Krämer", "Vogt", "Stein", "Jäger", "Otto", "Sommer", "Groß",
     "Seidel", "Heinrich", "Brandt", "Haas", "Schreiber", "Graf", "Schulte", "Dietrich",
     "Ziegler", "Kuhn", "Kühn", "Pohl", "Engel", "Horn", "Busch", "Bergmann", "Thomas",
     "Voigt", "Sauer", "Arnold", "Wolff", "Pfeiffer"],
    # where someone lived, and what they did there: Bergmann, Holzer, Waldbauer
    _compose(("Berg", "Wald", "Holz", "Stein", "Bach", "Feld", "Brunn", "Hof", "Busch",
              "Mühl", "Kirch", "Moos", "Wies", "Sand", "Brück", "Dorn", "Kamp", "Lind",
              "Eich", "Hag", "Graben", "Bruck", "Au", "Reut", "Ried", "Stauden", "Weid",
              "Hügel"),
             ("mann", "er", "bauer", "meier", "huber", "hofer", "müller", "schmidt",
              "inger", "reiter", "maier", "ner")),
    # place names: Schönfeld, Rosenberg, Lichtenstein
    _compose(("Schön", "Grün", "Rosen", "Linden", "Hohen", "Alten", "Neu", "Ober", "Unter",
              "Sonnen", "Blumen", "Falken", "Adler", "Lichten", "Eichen", "Tannen",
              "Birken", "Buchen", "Wein", "Rot", "Mittel", "Kalten"),
             ("berg", "feld", "bach", "stein", "wald", "hof", "dorf", "thal", "au",
              "hausen", "brunn", "eck", "burg", "heim")),
)  # fmt: skip

# Other nationalities: (given names, family names) in Latin script.
_LATIN_NAMES: dict[str, tuple[list[str], list[str]]] = {
    "DE": (_DE_GIVEN, _DE_FAMILY),
    "GB": (["James", "Emily", "Oliver", "Charlotte", "William", "Sophie", "Harry", "Grace",
            "George", "Jack", "Thomas", "Charlie", "Jacob", "Alfie", "Daniel", "Joshua",
            "Samuel", "Benjamin", "Edward", "Matthew", "Andrew", "Richard", "Paul", "Mark",
            "Olivia", "Amelia", "Isla", "Ava", "Jessica", "Lily", "Ella", "Chloe", "Lucy",
            "Hannah", "Rebecca", "Helen", "Claire", "Emma"],
           ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Davies", "Evans",
            "Thomas", "Johnson", "Roberts", "Walker", "Wright", "Robinson", "Thompson",
            "White", "Hughes", "Edwards", "Green", "Hall", "Wood", "Harris", "Lewis",
            "Martin", "Jackson", "Clarke", "Turner", "Hill", "Scott", "Cooper", "Morris",
            "Ward", "Moore", "King", "Watson", "Baker", "Harrison", "Morgan", "Young",
            "Allen", "Mitchell", "James", "Phillips", "Bell", "Parker", "Carter"]),
    "US": (["Michael", "Jennifer", "David", "Jessica", "Robert", "Ashley", "John", "Sarah",
            "James", "William", "Christopher", "Matthew", "Joshua", "Daniel", "Andrew",
            "Joseph", "Brian", "Kevin", "Jason", "Ryan", "Tyler", "Brandon", "Mary",
            "Linda", "Elizabeth", "Emily", "Amanda", "Melissa", "Stephanie", "Nicole",
            "Megan", "Lauren", "Rachel", "Heather", "Amber"],
           ["Johnson", "Miller", "Davis", "Garcia", "Rodriguez", "Martinez", "Anderson",
            "Thomas", "Smith", "Williams", "Brown", "Jones", "Hernandez", "Lopez",
            "Gonzalez", "Wilson", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez",
            "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis",
            "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres",
            "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
            "Rivera", "Campbell", "Mitchell", "Carter", "Roberts"]),
    "FR": (["Pierre", "Marie", "Jean", "Camille", "Louis", "Chloé", "Antoine", "Léa",
            "Nicolas", "Julien", "Thomas", "Alexandre", "Maxime", "Hugo", "Lucas",
            "Mathieu", "Philippe", "François", "Michel", "Sébastien", "Jean-Pierre",
            "Julie", "Sophie", "Isabelle", "Nathalie", "Céline", "Émilie", "Manon",
            "Sarah", "Inès", "Claire", "Aurélie", "Margaux", "Juliette", "Anne-Marie"],
           ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit",
            "Durand", "Leroy", "Moreau", "Simon", "Laurent", "Lefebvre", "Michel",
            "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier", "Morel",
            "Girard", "André", "Lefèvre", "Mercier", "Dupont", "Lambert", "Bonnet",
            "François", "Legrand", "Garnier", "Faure", "Rousseau", "Blanc", "Guérin",
            "Muller", "Henry", "Roussel", "Nicolas", "Perrin", "Morin", "Mathieu",
            "Clément", "Gauthier", "Dumont", "Fontaine", "Chevalier", "Robin"]),
    "IT": (["Marco", "Giulia", "Luca", "Francesca", "Alessandro", "Chiara", "Matteo",
            "Sara", "Giuseppe", "Giovanni", "Antonio", "Francesco", "Mario", "Roberto",
            "Giorgio", "Stefano", "Paolo", "Lorenzo", "Davide", "Simone", "Federico",
            "Riccardo", "Maria", "Anna", "Laura", "Valentina", "Elena", "Alessia",
            "Martina", "Silvia", "Federica", "Elisa", "Paola", "Roberta"],
           ["Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo",
            "Ricci", "Marino", "Greco", "Bruno", "Gallo", "Conti", "Mancini", "Costa",
            "Giordano", "Rizzo", "Lombardi", "Moretti", "Barbieri", "Fontana", "Santoro",
            "Mariani", "Rinaldi", "Caruso", "Ferrara", "Galli", "Martini", "Leone",
            "Longo", "Gentile", "Martinelli", "Vitale", "Lombardo", "Serra", "Coppola",
            "Marchetti", "Parisi", "Villa", "Conte", "Ferraro", "Ferri", "Fabbri",
            "Bianco", "Marini", "Grasso", "Valentini", "Messina", "Sala"]),
    "ES": (["Javier", "Lucía", "Carlos", "María", "Alejandro", "Carmen", "Pablo", "Elena",
            "Antonio", "José", "Manuel", "Francisco", "David", "Juan", "Daniel", "Miguel",
            "Rafael", "Sergio", "Jorge", "Álvaro", "Diego", "Laura", "Ana", "Isabel",
            "Cristina", "Marta", "Paula", "Sara", "Raquel", "Pilar", "Rosa", "Teresa",
            "Sofía"],
           ["García", "Fernández", "González", "Rodríguez", "López", "Martínez",
            "Sánchez", "Pérez", "Gómez", "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz",
            "Moreno", "Muñoz", "Álvarez", "Romero", "Alonso", "Gutiérrez", "Navarro",
            "Torres", "Domínguez", "Vázquez", "Ramos", "Gil", "Ramírez", "Serrano",
            "Blanco", "Molina", "Morales", "Suárez", "Ortega", "Delgado", "Castro",
            "Ortiz", "Rubio", "Marín", "Sanz", "Núñez", "Iglesias", "Medina", "Garrido",
            "Cortés", "Castillo", "Santos", "Lozano", "Guerrero"]),
    "PL": (["Jan", "Ewa", "Piotr", "Anna", "Krzysztof", "Katarzyna", "Tomasz", "Agnieszka",
            "Andrzej", "Paweł", "Michał", "Marcin", "Marek", "Grzegorz", "Józef", "Łukasz",
            "Adam", "Zbigniew", "Jerzy", "Tadeusz", "Mateusz", "Jakub", "Maria",
            "Małgorzata", "Barbara", "Krystyna", "Magdalena", "Joanna", "Aleksandra",
            "Monika", "Teresa", "Danuta", "Natalia", "Zofia"],
           ["Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński",
            "Lewandowski", "Zieliński", "Szymański", "Woźniak", "Dąbrowski", "Kozłowski",
            "Jankowski", "Mazur", "Wojciechowski", "Kwiatkowski", "Krawczyk", "Kaczmarek",
            "Piotrowski", "Grabowski", "Zając", "Pawłowski", "Michalski", "Król",
            "Wieczorek", "Jabłoński", "Wróbel", "Nowakowski", "Majewski", "Olszewski",
            "Stępień", "Malinowski", "Jaworski", "Adamczyk", "Dudek", "Nowicki", "Pawlak",
            "Górski", "Witkowski", "Walczak", "Sikora", "Baran", "Rutkowski", "Michalak",
            "Szewczyk", "Ostrowski"]),
    "JP": (["Hiroshi", "Yuki", "Takashi", "Akiko", "Kenji", "Naoko", "Satoshi", "Emi",
            "Haruto", "Sota", "Yuto", "Ren", "Daiki", "Kazuki", "Takumi", "Shota", "Ryota",
            "Kenta", "Yusuke", "Makoto", "Akira", "Daisuke", "Yui", "Aoi", "Sakura",
            "Hina", "Mei", "Haruka", "Misaki", "Ayaka", "Yoko", "Keiko", "Tomoko",
            "Kumiko", "Megumi", "Kaori"],
           ["Tanaka", "Sato", "Suzuki", "Takahashi", "Watanabe", "Ito", "Yamamoto",
            "Nakamura", "Kobayashi", "Kato", "Yoshida", "Yamada", "Sasaki", "Yamaguchi",
            "Matsumoto", "Inoue", "Kimura", "Hayashi", "Shimizu", "Yamazaki", "Mori",
            "Abe", "Ikeda", "Hashimoto", "Yamashita", "Ishikawa", "Nakajima", "Maeda",
            "Fujita", "Ogawa", "Goto", "Okada", "Hasegawa", "Murakami", "Kondo", "Ishii",
            "Saito", "Sakamoto", "Endo", "Aoki", "Fujii", "Nishimura", "Fukuda", "Ota",
            "Miura", "Fujiwara", "Okamoto", "Matsuda", "Nakagawa"]),
    "KR": (["Minho", "Jiwoo", "Seojun", "Hana", "Dongwook", "Yuna", "Jihoon", "Soyeon",
            "Minjun", "Hyunwoo", "Junho", "Sungmin", "Jaehyun", "Youngho", "Sangwoo",
            "Donghyun", "Jinwoo", "Taeyang", "Seungho", "Kyungsoo", "Jisoo", "Minji",
            "Seoyeon", "Eunji", "Hyejin", "Sujin", "Jiyeon", "Yejin", "Haeun", "Subin",
            "Eunbi", "Mirae"],
           ["Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon", "Jang", "Lim",
            "Han", "Oh", "Seo", "Shin", "Kwon", "Hwang", "Ahn", "Song", "Jeon", "Hong",
            "Yoo", "Ko", "Moon", "Yang", "Son", "Bae", "Baek", "Heo", "Nam", "Shim", "Noh",
            "Ha", "Kwak", "Sung", "Cha", "Joo", "Woo", "Koo", "Min", "Ryu", "Na", "Jin"]),
    "IN": (["Priya", "Rahul", "Anjali", "Vikram", "Sunita", "Arjun", "Kavita", "Rohan",
            "Amit", "Rajesh", "Sanjay", "Suresh", "Ravi", "Anil", "Vijay", "Deepak",
            "Ajay", "Aditya", "Karan", "Nikhil", "Pooja", "Neha", "Anita", "Deepa",
            "Lakshmi", "Meena", "Divya", "Shreya", "Aishwarya", "Swati", "Rekha", "Asha",
            "Nisha", "Kiran"],
           ["Sharma", "Singh", "Patel", "Gupta", "Kumar", "Reddy", "Iyer", "Nair", "Verma",
            "Jain", "Mehta", "Shah", "Agarwal", "Joshi", "Mishra", "Pandey", "Rao", "Das",
            "Chatterjee", "Banerjee", "Mukherjee", "Bose", "Ghosh", "Sen", "Pillai",
            "Menon", "Desai", "Kapoor", "Malhotra", "Chopra", "Bhatt", "Yadav", "Chauhan",
            "Thakur", "Saxena", "Srivastava", "Tiwari", "Dubey", "Naidu", "Krishnan",
            "Subramanian", "Chaudhary", "Kulkarni", "Deshpande"]),
    "BR": (["João", "Ana", "Pedro", "Juliana", "Lucas", "Fernanda", "Gabriel", "Beatriz",
            "José", "Carlos", "Paulo", "Marcos", "Rafael", "Felipe", "Gustavo", "Thiago",
            "Bruno", "Rodrigo", "Matheus", "Leonardo", "Maria", "Mariana", "Camila",
            "Larissa", "Letícia", "Patrícia", "Aline", "Bruna", "Amanda", "Vitória",
            "Luana", "Francisca"],
           ["Silva", "Santos", "Oliveira", "Souza", "Lima", "Pereira", "Costa", "Ferreira",
            "Rodrigues", "Almeida", "Nascimento", "Alves", "Carvalho", "Araújo",
            "Ribeiro", "Gomes", "Martins", "Rocha", "Barbosa", "Melo", "Barros",
            "Cardoso", "Correia", "Dias", "Teixeira", "Mendes", "Cavalcanti", "Monteiro",
            "Moreira", "Nunes", "Vieira", "Ramos", "Freitas", "Castro", "Campos", "Pinto",
            "Azevedo", "Moura", "Lopes", "Machado", "Soares", "Fernandes", "Batista",
            "Fonseca"]),
    "TR": (["Mehmet", "Ayşe", "Mustafa", "Fatma", "Ahmet", "Zeynep", "Emre", "Elif", "Ali",
            "Hüseyin", "Hasan", "İbrahim", "İsmail", "Murat", "Ömer", "Yusuf", "Burak",
            "Cem", "Kemal", "Serkan", "Emine", "Hatice", "Merve", "Esra", "Özlem", "Büşra",
            "Seda", "Derya", "Ebru", "Selin", "Deniz", "Gül"],
           ["Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Aydın", "Öztürk",  # noqa: RUF001 - Turkish dotless i
            "Arslan", "Doğan", "Kılıç", "Aslan", "Çetin", "Kara", "Koç", "Kurt",  # noqa: RUF001 - Turkish dotless i
            "Özdemir", "Şimşek", "Polat", "Özkan", "Korkmaz", "Erdoğan", "Yavuz", "Can",
            "Acar", "Şen", "Aktaş", "Güler", "Yalçın", "Güneş", "Bozkurt", "Bulut",  # noqa: RUF001 - Turkish dotless i
            "Keskin", "Ünal", "Turan", "Gül", "Özer", "Işık", "Kaplan", "Avcı", "Sarı",  # noqa: RUF001 - Turkish dotless i
            "Tekin", "Taş", "Köse"]),
    "NG": (["Chidi", "Ngozi", "Emeka", "Amaka", "Tunde", "Funmi", "Ibrahim", "Aisha",
            "Chinedu", "Obinna", "Ifeanyi", "Kelechi", "Oluwaseun", "Segun", "Femi",
            "Kunle", "Babajide", "Musa", "Abdul", "Yakubu", "Uchenna", "Chioma", "Nkechi",
            "Adaeze", "Ifeoma", "Folake", "Bukola", "Yetunde", "Blessing", "Esther",
            "Zainab", "Halima", "Hauwa"],
           ["Okafor", "Adeyemi", "Okonkwo", "Balogun", "Eze", "Bello", "Nwosu", "Abubakar",
            "Okoro", "Adebayo", "Ogunleye", "Olawale", "Obi", "Chukwu", "Ibrahim", "Musa",
            "Okeke", "Adewale", "Akinola", "Ogundipe", "Afolabi", "Lawal", "Aliyu",
            "Danjuma", "Nwachukwu", "Okoye", "Onuoha", "Uzor", "Ojo", "Oladipo",
            "Adeleke", "Oyewole", "Bakare", "Idowu", "Ugwu", "Nnaji", "Anyanwu", "Obiora",
            "Igwe", "Adeniyi", "Ayodele", "Usman", "Garba", "Sani"]),
}  # fmt: skip
# How names are drawn: by rank r in a pool, weight 1 / (r + offset)^s. With s = 1 this
# is Zipf's law; the small offset (Zipf-Mandelbrot) keeps the top few names from taking
# a share that only a pool of tens of thousands of names would leave them.
_ZIPF_S = 1.0
_ZIPF_OFFSET = 5.0

# Women's given names of all the pools (people have no sex of their own; whoever needs
# one, such as a contact list saving a parent as "Mama", reads it off the given name).
# A Chinese given name is a woman's when one of its characters is.
_CN_FEMALE_HANZI = "丽静芳艳娟玉红丹敏婷燕梅玲雪秀兰霞欣琪颖倩诗"
FEMALE_GIVEN: frozenset[str] = frozenset(
    ["Anna", "Julia", "Katrin", "Sabine", "Laura", "Lena", "Maria", "Ursula", "Monika",
     "Petra", "Claudia", "Susanne", "Andrea", "Birgit", "Heike", "Nicole", "Stefanie",
     "Christina", "Katharina", "Sandra", "Melanie", "Martina", "Kerstin", "Silke", "Anja",
     "Tanja", "Nadine", "Jana", "Sarah", "Lisa", "Hannah", "Lea", "Marie", "Sophie",
     "Emma", "Mia", "Leonie", "Johanna", "Charlotte", "Clara", "Franziska", "Ingrid",
     "Renate", "Gisela", "Helga", "Karin", "Brigitte", "Elke", "Gabriele", "Angelika",
     "Jutta",
     "Emily", "Grace", "Olivia", "Amelia", "Isla", "Ava", "Jessica", "Lily", "Ella",
     "Chloe", "Lucy", "Rebecca", "Helen", "Claire",
     "Jennifer", "Ashley", "Mary", "Linda", "Elizabeth", "Amanda", "Melissa", "Megan",
     "Lauren", "Rachel", "Heather", "Amber",
     "Camille", "Chloé", "Léa", "Julie", "Isabelle", "Nathalie", "Céline", "Émilie",
     "Manon", "Inès", "Aurélie", "Margaux", "Juliette", "Anne-Marie",
     "Giulia", "Francesca", "Chiara", "Sara", "Valentina", "Elena", "Alessia", "Silvia",
     "Federica", "Elisa", "Paola", "Roberta",
     "Lucía", "María", "Carmen", "Ana", "Isabel", "Cristina", "Marta", "Paula", "Raquel",
     "Pilar", "Rosa", "Teresa", "Sofía",
     "Ewa", "Katarzyna", "Agnieszka", "Małgorzata", "Barbara", "Krystyna", "Magdalena",
     "Joanna", "Aleksandra", "Danuta", "Natalia", "Zofia",
     "Yuki", "Akiko", "Naoko", "Emi", "Yui", "Aoi", "Sakura", "Hina", "Mei", "Haruka",
     "Misaki", "Ayaka", "Yoko", "Keiko", "Tomoko", "Kumiko", "Megumi", "Kaori",
     "Hana", "Yuna", "Soyeon", "Jisoo", "Minji", "Seoyeon", "Eunji", "Hyejin", "Sujin",
     "Jiyeon", "Yejin", "Haeun", "Subin", "Eunbi", "Mirae",
     "Priya", "Anjali", "Sunita", "Kavita", "Pooja", "Neha", "Anita", "Deepa", "Lakshmi",
     "Meena", "Divya", "Shreya", "Aishwarya", "Swati", "Rekha", "Asha", "Nisha",
     "Juliana", "Fernanda", "Beatriz", "Mariana", "Camila", "Larissa", "Letícia",
     "Patrícia", "Aline", "Bruna", "Vitória", "Luana", "Francisca",
     "Ayşe", "Fatma", "Zeynep", "Elif", "Emine", "Hatice", "Merve", "Esra", "Özlem",
     "Büşra", "Seda", "Derya", "Ebru", "Selin", "Gül",
     "Ngozi", "Amaka", "Funmi", "Aisha", "Chioma", "Nkechi", "Adaeze", "Ifeoma", "Folake",
     "Bukola", "Yetunde", "Blessing", "Esther", "Zainab", "Halima", "Hauwa",
     "Olga", "Tatiana", "Irina", "Svetlana", "Anastasia", "Yulia", "Ekaterina", "Marina",
     "Ludmila", "Galina", "Oksana", "Ksenia", "Daria", "Polina", "Vera", "Larisa",
     "Nadezhda",
     "Fatima", "Layla", "Mariam", "Nour", "Huda", "Rania", "Amina", "Salma", "Dina",
     "Yasmin", "Zahra", "Shirin", "Parisa", "Nasrin", "Farah", "Samira"]
    + [p for h, p in _CN_GIVEN + _CN_SYLLABLES if set(h) & set(_CN_FEMALE_HANZI)]
    + [p1 + p2.lower() for h1, p1 in _CN_SYLLABLES for h2, p2 in _CN_SYLLABLES
       if {h1, h2} & set(_CN_FEMALE_HANZI)]
)  # fmt: skip

TIE_TYPES = ("family", "colleague", "friend", "acquaintance")


@dataclass(frozen=True)
class TieIndex:
    """Ties grouped by person (see :meth:`Population.tie_index`)."""

    other: np.ndarray
    kind: np.ndarray
    strength: np.ndarray
    bounds: np.ndarray

    def of(self, person: int) -> slice:
        return slice(int(self.bounds[person]), int(self.bounds[person + 1]))


@dataclass(frozen=True)
class Population:
    """People and organisations; arrays aligned by id."""

    person_role: np.ndarray  # (n,) str
    person_org: np.ndarray  # (n,) organisation id or -1
    person_household: np.ndarray  # (n,)
    person_home: np.ndarray  # (n,) building id
    person_work: np.ndarray  # (n,) building id, -1 outside the district, -2 none
    person_nationality: np.ndarray  # (n,) ISO alpha-2
    person_name: list[str]  # in the person's own script
    person_name_latin: list[str]
    person_birth: np.ndarray  # (n,) datetime64[D]
    org_kind: np.ndarray  # (o,) embassy, ministry, company, media, school, venue
    org_name: list[str]
    org_country: np.ndarray  # (o,)
    org_building: np.ndarray  # (o,)
    tie_a: np.ndarray  # (t,) a < b
    tie_b: np.ndarray
    tie_type: np.ndarray  # (t,) str
    tie_strength: np.ndarray  # (t,) (0, 1]

    @property
    def size(self) -> int:
        return len(self.person_role)

    def tie_index(self) -> TieIndex:
        """Each person's ties: ``other[bounds[p]:bounds[p + 1]]`` are p's contacts, in
        the order of the tie table, with the tie's ``kind`` and ``strength`` alongside."""
        ends = np.concatenate([self.tie_a, self.tie_b])
        order = np.argsort(ends, kind="stable")
        return TieIndex(
            other=np.concatenate([self.tie_b, self.tie_a])[order],
            kind=np.concatenate([self.tie_type, self.tie_type])[order],
            strength=np.concatenate([self.tie_strength, self.tie_strength])[order],
            bounds=np.searchsorted(ends[order], np.arange(self.size + 1)),
        )

    def persons_table(self) -> pa.Table:
        import pyarrow as pa

        return pa.table(
            {
                "person_id": np.arange(self.size, dtype=np.int32),
                "name": self.person_name,
                "name_latin": self.person_name_latin,
                "nationality": self.person_nationality.tolist(),
                "birth_date": pa.array(self.person_birth, pa.date32()),
                "role": self.person_role.tolist(),
                "organisation_id": self.person_org.astype(np.int32),
                "household_id": self.person_household.astype(np.int32),
                "home_building": self.person_home.astype(np.int32),
                "work_building": self.person_work.astype(np.int32),
            }
        )

    def organisations_table(self) -> pa.Table:
        import pyarrow as pa

        return pa.table(
            {
                "organisation_id": np.arange(len(self.org_kind), dtype=np.int32),
                "kind": self.org_kind.tolist(),
                "name": self.org_name,
                "country": self.org_country.tolist(),
                "building_id": self.org_building.astype(np.int32),
            }
        )

    def ties_table(self) -> pa.Table:
        import pyarrow as pa

        return pa.table(
            {
                "person_a": self.tie_a.astype(np.int32),
                "person_b": self.tie_b.astype(np.int32),
                "tie": self.tie_type.tolist(),
                "strength": self.tie_strength,
            }
        )


def build_population(world: World, persons: int, seed: int) -> Population:
    """People for ``world``: the same world, size and seed give the same population."""
    if persons < 20:
        raise WorldError(f"a population needs at least 20 people, got {persons}")
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence([seed, 1]).spawn(5)]
    orgs = _organisations(world, streams[0])
    roles = _roles(persons, streams[1])
    nat, org, work = _jobs(world, orgs, roles, streams[1])
    household, home = _households(world, roles, nat, org, streams[2])
    names, latin = _names(nat, household, streams[3])
    birth = _birth_dates(roles, streams[3])
    tie_a, tie_b, tie_type, strength = _ties(roles, org, household, nat, streams[4])
    return Population(
        roles, org, household, home, work, nat, names, latin, birth,
        orgs[0], orgs[1], orgs[2], orgs[3], tie_a, tie_b, tie_type, strength,
    )  # fmt: skip


def _organisations(
    world: World, rng: np.random.Generator
) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:
    kind_of_building = world.building_kind
    kinds: list[str] = []
    names: list[str] = []
    countries: list[str] = []
    buildings: list[int] = []
    embassies = np.flatnonzero(kind_of_building == "embassy")
    for i, b in enumerate(embassies.tolist()):
        country = EMBASSY_COUNTRIES[i % len(EMBASSY_COUNTRIES)]
        suffix = "" if i < len(EMBASSY_COUNTRIES) else f" (annex {i // len(EMBASSY_COUNTRIES)})"
        kinds.append("embassy")
        names.append(f"Embassy of {country}{suffix}")
        countries.append(country)
        buildings.append(b)
    for i, b in enumerate(np.flatnonzero(kind_of_building == "ministry").tolist()):
        kinds.append("ministry")
        names.append(f"Federal Ministry {i + 1}")
        countries.append("DE")
        buildings.append(b)
    for i, b in enumerate(np.flatnonzero(kind_of_building == "office").tolist()):
        media = rng.random() < 0.08
        kinds.append("media" if media else "company")
        names.append(f"{'Press Agency' if media else 'Company'} {i + 1:03d}")
        countries.append("DE")
        buildings.append(b)
    for kind in ("school", "restaurant", "cafe", "hotel", "gym"):
        for i, b in enumerate(np.flatnonzero(kind_of_building == kind).tolist()):
            kinds.append("school" if kind == "school" else "venue")
            names.append(f"{kind.title()} {i + 1:03d}")
            countries.append("DE")
            buildings.append(b)
    return np.array(kinds), names, np.array(countries), np.array(buildings)


def _roles(persons: int, rng: np.random.Generator) -> np.ndarray:
    names = list(ROLES)
    shares = np.array([ROLES[r][0] for r in names])
    counts = np.floor(shares / shares.sum() * persons).astype(int)
    counts[names.index("local_resident")] += persons - counts.sum()
    roles = np.repeat(np.array(names), counts)
    return np.asarray(rng.permutation(roles))


def _jobs(
    world: World,
    orgs: tuple[np.ndarray, list[str], np.ndarray, np.ndarray],
    roles: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    org_kind, _, org_country, org_building = orgs
    n = len(roles)
    nationality = np.full(n, "DE", dtype=object)
    org = np.full(n, -1, dtype=np.int64)
    work = np.full(n, -2, dtype=np.int64)
    by_building_kind = world.building_kind[org_building]
    for role, (_, places) in ROLES.items():
        who = np.flatnonzero(roles == role)
        if len(who) == 0:
            continue
        if places == ("outside", "home"):
            outside = rng.random(len(who)) < 0.6
            work[who[outside]] = -1
            continue
        if role in EMBASSY_ROLES:
            pool = np.flatnonzero(org_kind == "embassy")
        elif role == "journalist":
            pool = np.flatnonzero(org_kind == "media")
        elif role == "business":
            pool = np.flatnonzero(org_kind == "company")
        else:
            pool = np.flatnonzero(np.isin(by_building_kind, places))
        if len(pool) == 0:
            raise WorldError(f"no workplace for role {role!r} in this world")
        # Organisation sizes are heavy-tailed: a few large, many small.
        weight = rng.pareto(1.5, len(pool)) + 1
        chosen = rng.choice(pool, size=len(who), p=weight / weight.sum())
        org[who] = chosen
        work[who] = org_building[chosen]
        if role in EMBASSY_ROLES:
            foreign = role != "driver" or rng.random() < 0.3
            nationality[who] = np.where(foreign, org_country[chosen], "DE")
        elif role in ("student", "journalist", "business"):
            # some foreigners among them
            mixed = rng.random(len(who)) < 0.15
            nationality[who[mixed]] = rng.choice(EMBASSY_COUNTRIES, size=int(mixed.sum()))
    return nationality.astype(str), org, work


def _households(
    world: World,
    roles: np.ndarray,
    nationality: np.ndarray,
    org: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Group people into households of 1-5 and give each a home with room for it."""
    n = len(roles)
    household = np.empty(n, dtype=np.int64)
    h = 0
    # Households share a nationality; within one, members are shuffled so roles mix.
    for country in np.unique(nationality):
        members = rng.permutation(np.flatnonzero(nationality == country))
        pos = 0
        while pos < len(members):
            size = int(rng.choice([1, 2, 3, 4, 5], p=[0.38, 0.33, 0.14, 0.11, 0.04]))
            household[members[pos : pos + size]] = h
            pos += size
            h += 1
    homes = np.flatnonzero(world.building_kind == "residential")
    if len(homes) == 0:
        raise WorldError("this world has no residential buildings")
    capacity = world.building_capacity[homes].astype(float)
    # Embassy households prefer homes near the centre (compounds by the quarter).
    r = np.hypot(*(world.building_xy[homes] - world.centre).T)
    near = capacity * np.exp(-r / (world.params.size_m / 3))
    home_of = np.empty(h, dtype=np.int64)
    embassy_hh = np.zeros(h, dtype=bool)
    embassy_hh[np.unique(household[np.isin(roles, EMBASSY_ROLES)])] = True
    home_of[embassy_hh] = rng.choice(homes, size=int(embassy_hh.sum()), p=near / near.sum())
    home_of[~embassy_hh] = rng.choice(
        homes, size=int((~embassy_hh).sum()), p=capacity / capacity.sum()
    )
    return household, home_of[household]


def _names(
    nationality: np.ndarray, household: np.ndarray, rng: np.random.Generator
) -> tuple[list[str], list[str]]:
    n = len(nationality)
    # A household shares a family name: one draw per household, mapped through the
    # pool's weights, so all its members (who share a nationality) get the same one.
    family_seed = rng.integers(0, 1 << 30, size=int(household.max()) + 1)
    family_u = (family_seed[household] + 0.5) / (1 << 30)
    given_u = rng.random(n)
    names = [""] * n
    latin = [""] * n
    for country in np.unique(nationality).tolist():
        who = np.flatnonzero(nationality == country)
        tradition = TRADITION.get(country, "latin")
        if tradition == "chinese":
            cn_given, cn_cdf = _chinese_given()
            fam_i = _zipf_pick(len(_CN_FAMILY), family_u[who])
            giv_i = _pick(cn_cdf, given_u[who])
            for p, f, g in zip(who.tolist(), fam_i.tolist(), giv_i.tolist(), strict=True):
                fam, giv = _CN_FAMILY[f], cn_given[g]
                names[p] = fam[0] + giv[0]
                latin[p] = f"{fam[1]} {giv[1]}"
            continue
        if tradition == "russian":
            given, family = _RU_GIVEN, _RU_FAMILY
        elif tradition == "arabic":
            given, family = _AR_GIVEN, _AR_FAMILY
        else:
            given, family = _LATIN_NAMES.get(country, _LATIN_NAMES["DE"])
        fam_i = _zipf_pick(len(family), family_u[who])
        giv_i = _zipf_pick(len(given), given_u[who])
        for p, f, g in zip(who.tolist(), fam_i.tolist(), giv_i.tolist(), strict=True):
            names[p] = latin[p] = f"{given[g]} {family[f]}"
    return names, latin


def _zipf_weights(size: int) -> np.ndarray:
    """Weights of ranks 1..``size`` (see _ZIPF_S), summing to 1."""
    w = 1.0 / (np.arange(1, size + 1) + _ZIPF_OFFSET) ** _ZIPF_S
    return np.asarray(w / w.sum())


@functools.cache
def _zipf_cdf(size: int) -> np.ndarray:
    cdf = np.cumsum(_zipf_weights(size))
    cdf.flags.writeable = False
    return cdf


def _zipf_pick(size: int, u: np.ndarray) -> np.ndarray:
    """Ranks (from 0) in a pool of ``size`` for uniform draws ``u`` in [0, 1)."""
    return _pick(_zipf_cdf(size), u)


def _pick(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    return np.minimum(np.searchsorted(cdf, u, side="right"), len(cdf) - 1)


@functools.cache
def _chinese_given() -> tuple[list[tuple[str, str]], np.ndarray]:
    """Chinese given names and their cumulative weights: a quarter the common names of
    _CN_GIVEN, a fifth one syllable, the rest two (from _CN_SYLLABLES, each by its own
    Zipf weight), the same name by several routes counted once with its weights summed.
    About 4,000 names."""
    weight: dict[tuple[str, str], float] = {}
    for name, w in zip(_CN_GIVEN, _zipf_weights(len(_CN_GIVEN)).tolist(), strict=True):
        weight[name] = weight.get(name, 0.0) + 0.25 * w
    syllable = _zipf_weights(len(_CN_SYLLABLES)).tolist()
    for name, w in zip(_CN_SYLLABLES, syllable, strict=True):
        weight[name] = weight.get(name, 0.0) + 0.2 * w
    for (h1, p1), w1 in zip(_CN_SYLLABLES, syllable, strict=True):
        for (h2, p2), w2 in zip(_CN_SYLLABLES, syllable, strict=True):
            name = (h1 + h2, p1 + p2.lower())
            weight[name] = weight.get(name, 0.0) + 0.55 * w1 * w2
    cdf = np.cumsum(list(weight.values()))
    cdf /= cdf[-1]
    cdf.flags.writeable = False
    return list(weight), cdf


def _birth_dates(roles: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    age = np.where(
        roles == "student", rng.uniform(15, 28, len(roles)), rng.uniform(23, 72, len(roles))
    )
    days = np.floor(age * 365.25).astype("timedelta64[D]")
    return np.datetime64("2026-06-01", "D") - days


def _ties(
    roles: np.ndarray,
    org: np.ndarray,
    household: np.ndarray,
    nationality: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n = len(roles)
    pairs: dict[tuple[int, int], tuple[str, float]] = {}

    def add(a: int, b: int, kind: str, strength: float) -> None:
        if a == b:
            return
        key = (a, b) if a < b else (b, a)
        old = pairs.get(key)
        # a pair keeps its closest tie type (family over colleague over friend ...)
        if old is None or TIE_TYPES.index(kind) < TIE_TYPES.index(old[0]):
            pairs[key] = (kind, round(float(strength), 3))

    # family: everyone in a household
    order = np.argsort(household, kind="stable")
    bounds = np.flatnonzero(np.diff(household[order])) + 1
    for members in np.split(order, bounds):
        for i, a in enumerate(members.tolist()):
            for b in members[i + 1 :].tolist():
                add(a, b, "family", rng.uniform(0.7, 1.0))
    # colleagues: a few per person within the organisation
    with_org = np.flatnonzero(org >= 0)
    order = with_org[np.argsort(org[with_org], kind="stable")]
    bounds = np.flatnonzero(np.diff(org[order])) + 1
    for members in np.split(order, bounds):
        if len(members) < 2:
            continue
        for a in members.tolist():
            k = min(len(members) - 1, int(rng.integers(2, 7)))
            for b in rng.choice(members, size=k, replace=False).tolist():
                add(a, b, "colleague", rng.uniform(0.2, 0.6))
    # friends: mostly within nationality, some bridges
    by_nat: dict[str, np.ndarray] = {
        str(c): np.flatnonzero(nationality == c) for c in np.unique(nationality)
    }
    friends_per = rng.poisson(3.0, n)
    for a in range(n):
        same = by_nat[str(nationality[a])]
        for _ in range(int(friends_per[a])):
            pool = same if (rng.random() < 0.8 and len(same) > 1) else None
            b = int(rng.choice(pool)) if pool is not None else int(rng.integers(n))
            add(a, b, "friend", rng.uniform(0.3, 0.8))
    # acquaintances: weak, many, heavy-tailed per person
    counts = np.minimum(rng.zipf(2.2, n) + 2, 60)
    for a in range(n):
        for b in rng.integers(0, n, size=int(counts[a])).tolist():
            add(a, b, "acquaintance", rng.uniform(0.02, 0.25))
    keys = sorted(pairs)
    tie_a = np.array([k[0] for k in keys], dtype=np.int64)
    tie_b = np.array([k[1] for k in keys], dtype=np.int64)
    tie_type = np.array([pairs[k][0] for k in keys])
    strength = np.array([pairs[k][1] for k in keys])
    return tie_a, tie_b, tie_type, strength
